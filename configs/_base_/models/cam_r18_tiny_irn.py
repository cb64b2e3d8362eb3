# IRN's CAM network at CPU size for the toy data: the torchvision-layout
# ResNet-18 at 1/4 width (last stage 128 channels) with IRN's strides,
# frozen parts and BatchNorm (cam_r50_irn.py). Without pretrained weights
# the frozen stem and layers 1-2 stay random and BN normalises with its
# initial statistics: a smoke version of the preset, not one to measure.
_base_ = './cam_r50_irn.py'
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(depth=18, stem_channels=16, base_channels=16, init_cfg=None),
    cam_head=dict(in_channels=128))
