# A CPU-sized wide ResNet-38 for the toy data: the architecture of
# cam_r38.py at 1/16 width (conv1a 4 channels, last feature 256), trained
# from scratch.
_base_ = './cam_r38.py'
model = dict(
    data_preprocessor=dict(size=(96, 96)),
    backbone=dict(
        width_mult=1 / 16,
        # no pretrained weights: BatchNorm must learn its statistics and
        # the first layers their filters
        frozen_bn=False,
        frozen_layers=(),
        init_cfg=None),
    cam_head=dict(in_channels=256, channels=64))
