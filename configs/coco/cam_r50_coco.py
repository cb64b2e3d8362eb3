# Baseline CAM network (MainNet alone) on MS COCO 2014 train (82,783 images,
# 80 classes; layout: docs/user_guides/10_coco.md).
# Name in mmseg's scheme: cam_r50-d16_1xb8-5e_coco14-384x384.
# The VOC recipe (../wsss/cam_r50_voc.py) with COCO's classes and the
# literature's 5 epochs (../_base_/schedules/schedule_5e_coco.py). CAM mIoU
# on train2014 as ReCAM's COCO code scores seeds (81 classes; crowd regions
# are 255 here, background in ReCAM's masks: convert with
# --crowd-as-background for its numbers). ReCAM's COCO threshold for IRN
# CAMs is 0.15, the test_cfg.bg_thr below; the metric sweeps it anyway.
_base_ = [
    '../_base_/models/cam_r50.py', '../_base_/datasets/coco2014_wsss.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_5e_coco.py'
]
model = dict(cam_head=dict(num_classes=80), test_cfg=dict(bg_thr=0.15))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
