# SGD + poly decay; 40 epochs of train_aug (10,582 images) at batch 8.
max_iters = 52920  # 40 * ceil(10582 / 8)
optim_wrapper = dict(
    type='OptimWrapper',
    # '.cam_head.': the module cam_head alone, not recam_head
    # (MainNetOptimWrapperConstructor anchors keys at a leading dot)
    constructor='MainNetOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    # new layers learn 10x faster than the pretrained backbone (WSSS habit)
    paramwise_cfg=dict(custom_keys={'.cam_head.': dict(lr_mult=10.0)}),
    clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
