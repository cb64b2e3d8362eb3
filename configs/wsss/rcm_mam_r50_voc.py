# The method: MainNet + EMA SupportNet with RCM and MAM on VOC train_aug.
# Name in mmseg's scheme: rcm-mam_r50-d16_1xb8-40e_voc12aug-384x384.
# Self-supervision from an untrained SupportNet is noise: either start from a
# trained baseline (cam_r50_voc.py) with `load_from=...` and
# `model.train_cfg.self_sup_start_iter=0`, or keep the warm-up below
# (5 of 40 epochs with the classification loss alone).
_base_ = [
    '../_base_/models/rcm_mam_r50.py', '../_base_/datasets/voc12_wsss.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_voc.py'
]
model = dict(train_cfg=dict(self_sup_start_iter=6615))
# SupportNet (an EMA, no gradients) stays out of the parameter groups
optim_wrapper = dict(constructor='MainNetOptimWrapperConstructor')
