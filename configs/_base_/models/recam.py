# ReCAM's parts (Chen et al., CVPR 2022), to put on a CAM network of this
# folder:
#   _base_ = ['./<cam network>.py', './recam.py']
#   model = _base_.recam
# A new bias-free predictor D -> C trained with softmax cross-entropy on
# the class-specific features (ReCAMHead), beside the classification loss.
recam = dict(
    recam_head=dict(
        type='ReCAMHead',
        # inference maps from W_recam * W_cam (the official VOC choice);
        # 'cam' is their COCO script's, 'recam' the predictor alone
        cam_weight='product',
        # lambda: 1.0 on VOC (0.1 on COCO)
        loss_sce=dict(type='ReCAMSCELoss', loss_weight=1.0)),
    # the official evaluation threshold of ReCAM maps (IRN's CAMs: 0.15)
    test_cfg=dict(bg_thr=0.21))
