# The method (RCM + MAM) on a toy COCO 2014 (CPU, minutes): the toy VOC
# recipe (rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py) with COCO's 80
# classes, staged on `baseline_config` likewise.
_base_ = [
    '../_base_/models/rcm_mam_r18_tiny.py', '../_base_/datasets/toy_coco.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py'
]
baseline_config = './cam_r18-tiny_1xb8-300it_toycoco-96x96.py'
model = dict(cam_head=dict(num_classes=80))
# SupportNet (an EMA, no gradients) stays out of the parameter groups
optim_wrapper = dict(constructor='MainNetOptimWrapperConstructor')
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
