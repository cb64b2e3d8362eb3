# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The smallest real CAM network the tests build (shared config pieces)."""

NUM_CLASSES = 3
# A ResNet-18 at 1/8 width with output stride 8: 32 x 32 inputs give 4 x 4
# CAMs in a few milliseconds.
BACKBONE = dict(
    type='ResNetV1c',
    depth=18,
    stem_channels=8,
    base_channels=8,
    num_stages=4,
    out_indices=(3, ),
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    contract_dilation=True)
HEAD = dict(
    type='CAMHead', in_channels=64, channels=16, num_classes=NUM_CLASSES)
