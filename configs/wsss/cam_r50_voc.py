# Baseline CAM network (MainNet alone) on PASCAL VOC 2012 train_aug.
# Name in mmseg's scheme: cam_r50-d16_1xb8-40e_voc12aug-384x384.
_base_ = [
    '../_base_/models/cam_r50.py', '../_base_/datasets/voc12_wsss.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_voc.py'
]
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
