# IRN's CAM network (jiwoon-ahn/irn: net/resnet50.py, net/resnet50_cam.py):
# the torchvision ResNet-50 (stride on the 3x3 conv of a block, 7x7 stem)
# with torchvision's ImageNet weights, output stride 16 with layer 4
# undilated, and a bias-free 1x1 classifier 2048 -> 20 straight on the
# layer-4 feature. The same normalisation and CAM inference as cam_r50.py.
_base_ = './cam_r50.py'
model = dict(
    data_preprocessor=dict(size=(512, 512)),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        # conv1 2 and max-pool 2 come first: output stride 2*2*1*2*2*1 = 16
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        style='pytorch',
        # IRN's FixedBatchNorm: running statistics in training too, affine
        # weights trained (norm_eval=True keeps BN in eval mode; requires_grad
        # keeps gamma and beta trainable)
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        # IRN detaches the layer-2 output: the stem, layer 1 and layer 2 get
        # no gradient (frozen here, which is the same and skips their
        # backward pass)
        frozen_stages=2,
        # torchvision's resnet50 file, mapped by name by mmengine; offline:
        # docs/get_started.md ("Pretrained weights")
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    cam_head=dict(
        in_channels=2048,
        # no feature layer: the classifier on the 2048-d feature
        channels=None,
        # PyTorch's default init of the classifier, as IRN's
        init_cfg=None))
