# IRN's CAM network and recipe (../irn/cam_r50-tv_voc.py) on the embedded
# toy data set (CPU, minutes): the toy torchvision-layout ResNet-18 with
# IRN's strides, frozen parts and BN (random, not pretrained: a smoke
# version of the preset), its augmentation at an eighth of the scale, its
# optimizer, 300 iterations at batch 8.
_base_ = [
    '../_base_/models/cam_r18_tiny_irn.py',
    '../_base_/datasets/toy_voc_irn.py', '../_base_/toy_runtime.py',
    '../_base_/schedules/schedule_irn_cam_5e_voc.py'
]
max_iters = 300
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=8)
