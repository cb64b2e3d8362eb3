# IRN's relation network on PASCAL VOC 2012 as jiwoon-ahn/irn runs it
# (net/resnet50_irn.py, step/train_irn.py, step/make_sem_seg_labels.py,
# run_sample.py), on the CAMs of ./cam_r50-tv_voc.py: a fresh frozen
# ImageNet torchvision ResNet-50 (output stride 16), IRN's five-level
# boundary branch (stem + 4 stages, each 1x1 conv -> GroupNorm -> upsampling
# -> ReLU, 5 x 32 = 160 channels -> 1), trained on pairs within radius 10
# whose source pixel has its whole radius inside the crop, relation labels
# at 0.30 / 0.05 with CRF, batch 32, 3 epochs, lr 0.1 with poly decay and
# IRN's momentum; refinement of the exported stride-4 CAMs (make_cam.py's
# ``cam``, normalised per class at stride 4) by 2^8 walk steps within radius
# 5 at beta 10 over the boundary map of the image padded to 512 x 512,
# background 0.25. Target: refined-mask mIoU 66.5 on VOC train (the paper,
# as quoted in jiwoon-ahn/irn issues/4; README.md).
# Name in mmseg's scheme: irn_r50-tv-d16_1xb32-990it_voc12aug-512x512.
#
# Its inputs (relation labels, CAMs) and how to point at them:
# ../_base_/datasets/voc12_relations.py.
#
# Departures from IRN's code:
# - rescaling: the long side to int(500 * r), r uniform in [0.5, 1.5]
#   (mmseg's RandomResize); IRN scales the image by r, the same for the
#   VOC images whose long side is 500 px (most of them).
# - data order: mmengine's InfiniteSampler over 990 steps of 32 images;
#   IRN drops each epoch's last partial batch (the same 990 steps).
# - the displacement-field branch (instance masks) is not built: its loss
#   sends no gradient to the boundary branch, whose loss IRN halves (the
#   loss_weight 0.5 below).
# - loss means divide by the pair count (IRN: count + 1e-5), the walk
#   takes 2^8 sparse steps (IRN: a dense matrix squared 8 times): float
#   rounding.
# - a test image longer than 512 px keeps that side (IRN's padding would
#   crop it; VOC has none).
# - several GPUs: DDP over 32 / N images each (IRN: DataParallel, reported
#   worse than one GPU in jiwoon-ahn/irn issues/13).
_base_ = [
    '../_base_/models/cam_r50_irn.py', '../_base_/models/irn.py',
    '../_base_/datasets/voc12_relations.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_irn_cam_5e_voc.py'
]
# the data preprocessor's mean in the loaded image's BGR order: padding
# normalises to 0, as IRN's canvas (zeros after normalisation)
mean_bgr = (103.53, 116.28, 123.675)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # the relation labels
    dict(
        type='RandomResize',
        **_base_.rescale,
        interpolation='bicubic',
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    # the image at a random offset on a side shorter than 512, labels 255
    dict(type='RandomCropOrPad', crop_size=_base_.crop_size, pad_val=mean_bgr),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    _base_.irn,
    _delete_=True,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, size=_base_.crop_size),
    # IRN's own ImageNet ResNet-50, not the CAM network: frozen entirely
    backbone=dict(
        _base_.model.backbone,
        type='ResNetWithStem',
        out_indices=(0, 1, 2, 3, 4)),
    boundary_head=dict(
        _base_.irn.boundary_head,
        in_channels=(64, 256, 512, 1024, 2048),
        in_index=(0, 1, 2, 3, 4),
        # levels at strides 4, 4, 8, 16, 16 brought to stride 4
        scale_factors=(1, 1, 2, 4, 4),
        # PyTorch's default initialisation, as IRN's
        init_cfg=None,
        loss_decode=dict(
            _base_.irn.boundary_head.loss_decode, pair_sources='inner')),
    test_cfg=dict(_base_.irn.test_cfg, pad_size=_base_.crop_size))
backbone_from_cam_checkpoint = False
# 3 epochs of train_aug at batch 32: 3 * (10582 // 32) steps; lr 0.1 with
# poly 0.9 and weight decay 1e-4 on the head (IRN's edge branch); momentum
# as IRN ran it (1e-4, schedule_irn_cam_5e_voc.py), 0.9 as a switch:
#   --cfg-options optim_wrapper.optimizer.momentum=0.9
max_iters = 990
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='SGD',
        lr=0.1,
        momentum=_base_.irn_quirk_momentum,
        weight_decay=1e-4))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
auto_scale_lr = dict(enable=False, base_batch_size=32)
