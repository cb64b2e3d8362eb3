# IRN's relation network as ./irn_r50-tv_voc.py builds it (five-level
# boundary head, IRN's training pairs, bicubic rescaling and random-offset
# crop, test images padded to the crop) on the embedded toy data set, with
# the toy torchvision-layout ResNet-18 of
# ../toy/cam_r18-tv-tiny_1xb8-300it_toyvoc-64x64.py at IRN's strides
# (levels at strides 4, 4, 8, 16, 16; 16, 16, 32, 64 and 128 channels).
# As ./irn_r18-tiny_1xb8-300it_toyvoc-192x192.py (inputs, 2x scale, radii 4
# and 2, toy schedule): the backbone starts from the stage-1 CAM checkpoint
# and its layers 3-4 train with the head. A smoke version of the preset.
_base_ = './irn_r18-tiny_1xb8-300it_toyvoc-192x192.py'
mean_bgr = (103.53, 116.28, 123.675)  # normalises to 0, IRN's canvas
train_pipeline = [
    dict(step, interpolation='bicubic', backend='pillow')
    if step.type == 'RandomResize' else
    dict(type='RandomCropOrPad', crop_size=_base_.crop_size, pad_val=mean_bgr)
    if step.type == 'RandomCrop' else step for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetWithStem',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(0, 1, 2, 3, 4),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        frozen_stages=2,
        init_cfg=None),
    boundary_head=dict(
        in_channels=(16, 16, 32, 64, 128),
        in_index=(0, 1, 2, 3, 4),
        scale_factors=(1, 1, 2, 4, 4),
        init_cfg=None,
        loss_decode=dict(pair_sources='inner')),
    test_cfg=dict(pad_size=_base_.crop_size))
