# IRN's semantic refinement on the embedded toy data set, with the CPU-sized
# backbone of the toy CAM network (see irn_r50_voc.py for the inputs and
# the keys that point at them).
_base_ = [
    '../_base_/models/cam_r18_tiny.py', '../_base_/models/irn.py',
    '../_base_/datasets/toy_voc.py', '../_base_/toy_runtime.py',
    '../_base_/schedules/schedule_toy.py'
]
relation_label_dir = '../../work_dirs/toy_relation_labels'  # under data_root
cam_dir = 'work_dirs/toy_pseudo_labels/cams'
crop_size = (96, 96)
# The toy analogue of IRN's frozen ImageNet backbone: the backbone of the
# stage-1 CAM network, frozen. Its checkpoint comes from the pipeline
# (WSSSPipeline with irn_cfg), or by hand:
#   model.backbone.init_cfg.type=Pretrained
#   model.backbone.init_cfg.checkpoint=<stage-1 checkpoint>
#   model.backbone.init_cfg.prefix=backbone.
# The head trains with the toy schedule's optimiser (SGD 0.01, momentum 0.9).
backbone_from_cam_checkpoint = True
# Radii scaled to the toy images (64-128 px, about 1/5 of VOC's 500 px):
# pairs within 3 (IRN: 10) for the loss, within 2 (IRN: 5; the smallest, the
# 8-neighbourhood) for the random walk, at stride 4.
model = dict(
    _base_.irn,
    _delete_=True,
    freeze_backbone=True,
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3)),
    boundary_head=dict(
        _base_.irn.boundary_head,
        in_channels=(16, 32, 64, 128),
        loss_decode=dict(_base_.irn.boundary_head.loss_decode, radius=3)),
    test_cfg=dict(_base_.irn.test_cfg, radius=2))
# toy images are 64-128 px long: rescaled to 64-192 px, flipped, cropped
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(128, 128),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadCAMFromFile', cam_dir=cam_dir),
    dict(type='PackCAMInputs'),
]
infer_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCAMFromFile', cam_dir=cam_dir),
    dict(type='PackCAMInputs'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(seg_map_path=relation_label_dir),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# relation labels: IRN's thresholds (PseudoLabelWriter kind 'relation')
relation_cfg = dict(conf_fg_thr=0.30, conf_bg_thr=0.05)
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
