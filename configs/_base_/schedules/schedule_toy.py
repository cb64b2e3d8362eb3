# A few hundred iterations: minutes on 2 CPU cores.
_base_ = './schedule_40e_voc.py'
max_iters = 300
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
