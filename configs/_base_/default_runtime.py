_base_ = 'mmseg::_base_/default_runtime.py'

# Registers mmseg-wsss' datasets, transforms, models and metrics into mmseg's
# registries, so stock mmseg/mmengine tools run our configs unchanged.
custom_imports = dict(imports=['mmseg_wsss'], allow_failed_imports=False)

# AtomicCheckpointHook: a crash while saving leaves the previous checkpoint
# and `last_checkpoint` loadable (mmengine's CheckpointHook may not).
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=5000,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # every head's num_classes against the dataset's classes, with the keys
    # to change (a default hook: configs that set custom_hooks keep it)
    num_class_check=dict(type='NumClassCheckHook'))
