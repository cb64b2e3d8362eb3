# The second stage of the WSSS papers (IRN, AdvCAM, ReCAM, CLIMS): DeepLab-v2
# with an ImageNet ResNet-101, trained on the pseudo masks of VOC train_aug
# and evaluated on val plain, with --tta and with --tta --crf
# (docs/user_guides/5_second_stage.md). The recipe is the default of
# kazuto1011/deeplab-pytorch (configs/voc12.yaml, main.py), the code these
# papers name, with the ImageNet initialisation they use in place of its
# COCO one: batch 10, crop 321, SGD lr 2.5e-4 (ASPP weights x10, ASPP biases
# x20 without decay), momentum 0.9, weight decay 5e-4, poly 0.9, 20k
# iterations (AdvCAM and CLIMS train 30k: train_cfg.max_iters=30000 and
# param_scheduler.0.end=30000), BN frozen. Sources: docs/model_zoo.md.
# Departures: one image batch of 10 instead of 5 x 2 accumulated; a single-
# scale loss (not its max over scales 1.0/0.75/0.5 with four CE terms); plain
# CE (AdvCAM and CLIMS use a balanced CE); lr polynomial every iteration
# (not every 10); mmseg's RandomCrop (cat_max_ratio 0.75) after the scale.
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12.py', '../_base_/default_runtime.py'
]
import os.path as osp  # noqa: E402 (after _base_: mmengine's old-style config)

data_root = 'data/VOCdevkit/VOC2012'
crop_size = (321, 321)
num_classes = 21
# MSRA's ImageNet ResNet-101 (Caffe layout: stride on the first 1x1 of a
# block, 7x7 stem), the model family of DeepLab-v2's own initialisation, in
# detectron2's conversion; its inputs are BGR 0-255 minus the mean, no std.
# Output stride 8: layer 3 dilation 2, layer 4 dilation 4.
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[103.53, 116.28, 123.675],
    std=[1.0, 1.0, 1.0],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        style='caffe',
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=True,
        # every block of layers 3 and 4 dilated (DeepLab-v2), the first too
        contract_dilation=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=0,
        dilations=(6, 12, 18, 24),
        num_classes=num_classes,
        align_corners=False,
        loss_decode=dict(
            # the mean over labelled pixels, as nn.CrossEntropyLoss(
            # ignore_index=255) of kazuto1011's code
            type='CrossEntropyLoss',
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# kazuto1011's data: a random scale of {0.5, 0.75, 1.0, 1.25, 1.5} of the
# image, a 321 x 321 crop (the data preprocessor pads smaller crops: image
# with the mean, label with 255), flip; the whole image at test time.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomChoice',
        transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True)]
                    for r in (0.5, 0.75, 1.0, 1.25, 1.5)]),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# tools/test.py --tta: the scales of kazuto1011's test (1.0, 0.75, 0.5) and
# IRN's flip, merged by SoftmaxSegTTAModel (mmseg's mean softmax, kept as
# probabilities; kazuto1011 takes the max of the logits and does not flip)
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in (0.5, 0.75, 1.0)
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
tta_model = dict(type='SoftmaxSegTTAModel')
# tools/test.py --crf: kazuto1011's CRF (main.py `crf`) on the raw image
test_crf = dict(
    iters=10, gauss_sxy=1, gauss_compat=3, bi_sxy=67, bi_srgb=3, bi_compat=4)

train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages',
            # tools/train.py --pseudo-labels DIR; the default is a folder
            # of the current directory, never of data_root
            seg_map_path=osp.abspath('work_dirs/pseudo_labels')),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    clip_grad=None,
    paramwise_cfg=dict(
        custom_keys={
            'decode_head': dict(lr_mult=10.),
            'decode_head.aspp.0.bias': dict(lr_mult=20., decay_mult=0.),
            'decode_head.aspp.1.bias': dict(lr_mult=20., decay_mult=0.),
            'decode_head.aspp.2.bias': dict(lr_mult=20., decay_mult=0.),
            'decode_head.aspp.3.bias': dict(lr_mult=20., decay_mult=0.),
        }))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.,
        power=0.9,
        begin=0,
        end=20000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the recipe's lr is that of its global batch of 10 images
auto_scale_lr = dict(enable=False, base_batch_size=10)
default_hooks = dict(checkpoint=dict(interval=2000, max_keep_ckpts=2))
