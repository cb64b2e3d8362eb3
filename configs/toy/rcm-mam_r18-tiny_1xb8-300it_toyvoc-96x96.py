# The method (RCM + MAM) on the embedded toy data set (CPU, minutes).
# Warm-up: the first 1/8 of the schedule with the classification loss only,
# as in the VOC recipe (5 of 40 epochs).
_base_ = [
    '../_base_/models/rcm_mam_r18_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py'
]
model = dict(train_cfg=dict(self_sup_start_iter=38))
# SupportNet (an EMA, no gradients) stays out of the parameter groups
optim_wrapper = dict(constructor='MainNetOptimWrapperConstructor')
