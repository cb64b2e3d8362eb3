# The method (MainNet + EMA SupportNet with RCM and MAM) on MS COCO 2014
# train. Name in mmseg's scheme: rcm-mam_r50-d16_1xb8-5e_coco14-384x384.
# Staged as on VOC (../wsss/rcm_mam_r50_voc.py): stage 1a trains
# `baseline_config`; this config continues from its checkpoint:
#   --cfg-options load_from=work_dirs/cam_r50_coco/iter_51735.pth
# (tools/run_pipeline.py runs both stages and passes it). RCM keeps one
# prototype memory slot per class and background: 81 x memory_size x D
# floats (docs/user_guides/10_coco.md states the memory at 80 classes).
_base_ = [
    '../_base_/models/rcm_mam_r50.py', '../_base_/datasets/coco2014_wsss.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_5e_coco.py'
]
baseline_config = './cam_r50_coco.py'
model = dict(cam_head=dict(num_classes=80), test_cfg=dict(bg_thr=0.15))
# SupportNet (an EMA, no gradients) stays out of the parameter groups
optim_wrapper = dict(constructor='MainNetOptimWrapperConstructor')
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
