# Runtime of the toy configs: CPU-friendly (gloo for DDP), seeded.
_base_ = './default_runtime.py'
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
