# A few hundred iterations: minutes on 2 CPU cores.
_base_ = './schedule_40e_voc.py'
max_iters = 300
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
