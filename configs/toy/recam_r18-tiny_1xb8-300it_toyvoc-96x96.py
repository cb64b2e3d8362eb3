# ReCAM on the embedded toy data set (CPU, minutes): recam_r50_voc.py's
# head and optimizer on the toy CAM network and schedule. Staged: stage 1a
# trains `baseline_config`; this config fine-tunes its checkpoint
# (load_from=...; tools/run_pipeline.py passes it).
_base_ = [
    '../_base_/models/recam_r18_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_recam_4e_voc.py'
]
baseline_config = './cam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
max_iters = 300
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
