# IRN's semantic refinement on MS COCO 2014 (the recipe of
# ../irn/irn_r50_voc.py): a boundary head on a frozen ImageNet ResNet-50
# learns class boundaries from relation labels mined from the CAMs of
# train2014; test() refines the exported CAMs of train2014 by a random walk
# and scores the refined masks (81 classes), as ReCAM's COCO code does.
# Name in mmseg's scheme: irn_r50-d16_1xb32-7758it_coco14-512x512.
# Inputs and how to point at them: ../_base_/datasets/voc12_relations.py.
_base_ = [
    '../_base_/models/cam_r50.py', '../_base_/models/irn.py',
    '../_base_/datasets/coco2014_relations.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40e_voc.py'
]
model = dict(
    _base_.irn,
    _delete_=True,
    num_classes=80,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, size=_base_.crop_size),
    backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3)),
    boundary_head=dict(
        _base_.irn.boundary_head, in_channels=(256, 512, 1024, 2048)),
    # ReCAM's COCO sem_seg_bg_thres (run_sample_coco.py), as IRN's on VOC
    test_cfg=dict(_base_.irn.test_cfg, bg_thr=0.25))
backbone_from_cam_checkpoint = False
# IRN's stage as ReCAM runs it on COCO: 3 epochs of train2014 at batch 32,
# 82,783 // 32 * 3 = 7,758 steps; optimizer as irn_r50_voc.py (lr 0.1, poly,
# weight decay 1e-4, plain SGD).
max_iters = 7758
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=32)
