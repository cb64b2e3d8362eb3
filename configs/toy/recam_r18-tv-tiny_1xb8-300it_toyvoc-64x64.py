# ReCAM as its authors ran it (../recam/recam_r50-tv_voc.py) on the
# embedded toy data set (CPU, minutes): its predictor on the toy network's
# last feature, its optimizer, 300 iterations at batch 8. Staged: stage 1a
# trains `baseline_config`; this config fine-tunes its checkpoint
# (load_from=...; tools/run_pipeline.py passes it).
_base_ = [
    '../_base_/models/cam_r18_tiny_irn.py', '../_base_/models/recam.py',
    '../_base_/datasets/toy_voc_irn.py', '../_base_/toy_runtime.py',
    '../_base_/schedules/schedule_recam_irn_4e_voc.py'
]
model = dict(_base_.recam, backbone=dict(frozen_stages=0))
baseline_config = './cam-nodetach_r18-tv-tiny_1xb8-300it_toyvoc-64x64.py'
max_iters = 300
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=8)
