# The method's parts, to put on a CAM network of this folder:
#   _base_ = ['./<cam network>.py', './rcm_mam.py']
#   model = _base_.rcm_mam
# MainNet is that CAM network; SupportNet its EMA copy; RCM and MAM heads.
rcm_mam = dict(
    type='DualCAMSegmentor',
    # theta_s <- 0.996 * theta_s + 0.004 * theta_m (mmengine weights the
    # new parameters by `momentum`)
    support_cfg=dict(type='ExponentialMovingAverage', momentum=0.004),
    rcm_head=dict(
        type='RCMHead',
        region_thrs=(0.3, 0.5),  # (t_bg, t_fg)
        memory_size=5,  # Q prototypes per class kept across batches
        proto_resolution='crop',
        rcm_resolution='feature',
        loss_rcm=dict(
            type='RegionalContrastiveLoss',
            tau=0.5,
            loss_weight=1.0,
            mask_absent_prototypes=False)),
    mam_head=dict(
        type='MAMHead',
        main_scales=(0.5, 1.0, 2.0),
        batch_fraction=0.5,
        loss_mam=dict(type='MultiScaleAttentiveLoss', loss_weight=1.0)),
    train_cfg=dict(support_scales=(0.5, 1.0, 1.5, 2.0), self_sup_start_iter=0),
    test_cfg=dict(predict_on='main'))
# SupportNet follows MainNet after every optimizer step.
custom_hooks = [dict(type='SupportNetEMAHook')]
