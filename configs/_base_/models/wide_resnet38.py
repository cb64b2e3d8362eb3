# PSA's wide ResNet-38 ("resnet38d", output stride 8), as the authors' code,
# PSA, SEAM and 1-stage-wseg train it: every BatchNorm frozen (ImageNet
# statistics and affine), conv1a and level 2 (b2, b2_1, b2_2) frozen,
# Dropout2d 0.3 / 0.5 in b6 / b7. Put it in a model as
#   backbone=dict(_base_.wide_resnet38, _delete_=True)
# ImageNet weights: the MXNet "RNA Model A1" of ademxapp converted to
# PyTorch (ilsvrc-cls_rna-a1_cls1000_ep-0001.pth, ~402 MB); where to get it
# and where to put it: docs/advanced_guides/resnet38_preset.md. There is no
# open-mmlab:// name for it. For random weights: model.backbone.init_cfg=None.
wide_resnet38 = dict(
    type='WideResNet38',
    out_indices=(5, ),  # the 4096-channel feature (PSA's conv6)
    width_mult=1.0,
    dropouts=(0.3, 0.5),
    frozen_bn=True,
    frozen_layers=('conv1a', 'b2', 'b2_1', 'b2_2'),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='data/pretrained/ilsvrc-cls_rna-a1_cls1000_ep-0001.pth'))
