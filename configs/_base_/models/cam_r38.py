# CAM network on PSA's wide ResNet-38 (output stride 8, 4096 channels): the
# CAM head, test settings and ImageNet normalisation of cam_r50.py (PSA
# normalises RGB / 255 with the same mean and std).
_base_ = ['./cam_r50.py', './wide_resnet38.py']
model = dict(
    # PSA's and SEAM's crop
    data_preprocessor=dict(size=(448, 448)),
    backbone=dict(_base_.wide_resnet38, _delete_=True),
    # PSA's CAM net puts its classifier (fc8, Dropout2d 0.5 before it) on
    # the 4096 channels directly; this head keeps the method's 1x1 conv +
    # ReLU to D = 256 first (the authors' code: D = 256), whose features RCM
    # contrasts
    cam_head=dict(in_channels=4096, channels=256))
