# Runtime of the toy configs: CPU-friendly (gloo for DDP), seeded, one kept
# checkpoint (the last: the schedule is shorter than the save interval).
_base_ = './default_runtime.py'
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(max_keep_ckpts=1))
# device_ids=None lets DDP wrap CPU modules (and single-GPU ones alike)
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
