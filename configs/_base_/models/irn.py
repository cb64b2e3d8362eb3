# IRN's relation network (Ahn, Cho and Kwak, CVPR 2019; its class boundary
# branch), to put on a backbone of this folder with its levels 0-3:
#   _base_ = ['./<cam network>.py', './irn.py']
#   model = dict(
#       _base_.irn, _delete_=True,
#       data_preprocessor=_base_.model.data_preprocessor,
#       backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3)),
#       boundary_head=dict(_base_.irn.boundary_head, in_channels=(...)))
irn = dict(
    type='IRNSegmentor',
    num_classes=20,
    # IRN keeps its ImageNet backbone as it is and trains the head only
    freeze_backbone=True,
    boundary_head=dict(
        type='BoundaryHead',
        in_index=(0, 1, 2, 3),
        channels=32,
        norm_cfg=dict(type='GN', num_groups=4),
        # pairs within radius 10 at stride 4; IRN's training step halves this
        # loss (it averages it with its displacement-field loss)
        loss_decode=dict(type='AffinityLoss', radius=10, loss_weight=0.5)),
    # random walk over pairs within radius 5, a^10, 2^8 steps; background
    # score 0.25 against the walked CAMs scaled to a maximum of 1
    test_cfg=dict(radius=5, beta=10, exp_times=8, bg_thr=0.25, flip=True))
