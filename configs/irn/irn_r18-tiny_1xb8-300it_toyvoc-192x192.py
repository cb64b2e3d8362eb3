# IRN's semantic refinement on the embedded toy data set, with the CPU-sized
# backbone of the toy CAM network (see irn_r50_voc.py for the VOC recipe and
# ../_base_/datasets/toy_relations.py for the inputs and the 2x scale).
_base_ = [
    '../_base_/models/cam_r18_tiny.py', '../_base_/models/irn.py',
    '../_base_/datasets/toy_relations.py', '../_base_/toy_runtime.py',
    '../_base_/schedules/schedule_toy.py'
]
# The toy has no ImageNet backbone to keep frozen: the relation network
# starts from the backbone of the stage-1 CAM network (from the pipeline,
# WSSSPipeline with irn_cfg, or by hand:
#   model.backbone.init_cfg.type=Pretrained
#   model.backbone.init_cfg.checkpoint=<stage-1 checkpoint>
#   model.backbone.init_cfg.prefix=backbone.)
# and trains it with the head: features learnt for classifying 200 small
# images are not the generic edges of an ImageNet network.
backbone_from_cam_checkpoint = True
# Radii follow the images: at 2x the toy's images are about 0.44 of VOC's
# size, so pairs within 4 (IRN: 10) for the loss and within 2 (IRN: 5) for
# the walk, whose 2^8 steps (IRN's) then spread about as far relative to
# the image as IRN's do on VOC (per-step variance 1.33 cells^2 at radius 2,
# 10.9 at radius 5).
model = dict(
    _base_.irn,
    _delete_=True,
    freeze_backbone=False,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, size=_base_.crop_size),
    backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3)),
    boundary_head=dict(
        _base_.irn.boundary_head,
        in_channels=(16, 32, 64, 128),
        loss_decode=dict(_base_.irn.boundary_head.loss_decode, radius=4)),
    # test images padded to the crop, as IRN pads VOC's to 512
    test_cfg=dict(_base_.irn.test_cfg, radius=2, pad_size=_base_.crop_size))
# Backbone and head train with the toy schedule's optimiser (SGD 0.01,
# momentum 0.9).
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
