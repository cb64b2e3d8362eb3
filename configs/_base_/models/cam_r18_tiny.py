# A CPU-sized CAM network for the toy data: ResNet-18 at 1/4 width
# (last stage 128 channels), output stride 8, trained from scratch.
_base_ = './cam_r50.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=(96, 96)),
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        # no pretrained weights: BatchNorm must learn its statistics
        norm_eval=False,
        init_cfg=None),
    cam_head=dict(in_channels=128, channels=64))
