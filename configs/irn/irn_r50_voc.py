# IRN's semantic refinement on PASCAL VOC 2012 (Ahn, Cho and Kwak, CVPR 2019):
# a boundary head on a frozen ImageNet ResNet-50 (the CAM network's
# initialisation, output stride 16) learns class boundaries from relation
# labels mined from the CAMs of train_aug; test() refines the exported CAMs
# of VOC train by a random walk and measures the refined masks' mIoU.
# Name in mmseg's scheme: irn_r50-d16_1xb32-990it_voc12aug-512x512.
#
# Inputs, written by the earlier steps (override with --cfg-options):
#   relation labels, one PNG per train_aug image (0 background, 1..20
#   classes, 255 unknown), relative to data_root or absolute:
#     train_dataloader.dataset.data_prefix.seg_map_path=DIR
#   CAMs, {image name}.npz of make_pseudo_labels(cam_dir=...), relative to
#   the working directory or absolute:
#     val_dataloader.dataset.pipeline.2.cam_dir=DIR
#     test_dataloader.dataset.pipeline.2.cam_dir=DIR
_base_ = [
    '../_base_/models/cam_r50.py', '../_base_/models/irn.py',
    '../_base_/datasets/voc12_wsss.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40e_voc.py'
]
relation_label_dir = '../../../work_dirs/relation_labels'  # under data_root
cam_dir = 'work_dirs/pseudo_labels/cams'
crop_size = (512, 512)
model = dict(
    _base_.irn,
    _delete_=True,
    data_preprocessor=dict(_base_.model.data_preprocessor, size=crop_size),
    backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3)),
    boundary_head=dict(
        _base_.irn.boundary_head, in_channels=(256, 512, 1024, 2048)))
# IRN rescales each image by 0.5-1.5 (VOC images are about 500 px long),
# flips, and crops 512 x 512; relation labels are the segmentation maps.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(500, 500),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
# Refinement: the image at its size, its mask (for IoUMetric) and its CAMs.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadCAMFromFile', cam_dir=cam_dir),
    dict(type='PackCAMInputs'),
]
# Refined pseudo-mask export (images without masks).
infer_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCAMFromFile', cam_dir=cam_dir),
    dict(type='PackCAMInputs'),
]
train_dataloader = dict(
    batch_size=32,  # IRN's; with N GPUs use 32 / N
    dataset=dict(
        data_prefix=dict(seg_map_path=relation_label_dir),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# relation labels: IRN's thresholds (PseudoLabelWriter kind 'relation')
relation_cfg = dict(conf_fg_thr=0.30, conf_bg_thr=0.05)
# the backbone is cam_r50's ImageNet initialisation, not the CAM checkpoint
backbone_from_cam_checkpoint = False
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# IRN: 3 epochs of train_aug (10,582 images) at batch 32, lr 0.1 with poly
# decay, weight decay 1e-4, and momentum 1e-4 (its optimiser passes the
# weight decay in SGD's momentum argument): plain SGD here.
max_iters = 990
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
