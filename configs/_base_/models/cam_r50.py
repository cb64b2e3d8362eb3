# CAM network: dilated ResNet-50 (output stride 16) + CAMHead.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(384, 384))
model = dict(
    type='CAMSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        # output stride 16; (1, 1, 1, 1) / (1, 1, 2, 4) gives stride 8
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        contract_dilation=True,
        # mmseg's ImageNet weights, downloaded once into the torch hub cache;
        # offline: docs/get_started.md ("Pretrained weights")
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    cam_head=dict(
        type='CAMHead',
        in_channels=2048,
        channels=256,
        num_classes=20,
        loss_cls=dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0)),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0),
        flip=True,
        bg_thr=0.15,
        labels='auto',
        # longer sides are downscaled for the network (bounded memory)
        max_side=1024))
