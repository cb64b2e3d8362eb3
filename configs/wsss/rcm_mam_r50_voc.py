# The method: MainNet + EMA SupportNet with RCM and MAM on VOC train_aug.
# Name in mmseg's scheme: rcm-mam_r50-d16_1xb8-40e_voc12aug-384x384.
# Staged recipe (docs/method.md, as the authors ran it): stage 1a trains
# `baseline_config` (cam_r50_voc.py); this config continues from its
# checkpoint, both networks initialised from it, self-supervision from
# iteration 0:
#   --cfg-options load_from=work_dirs/cam_r50_voc/iter_52920.pth
# (tools/run_pipeline.py runs both stages and passes it). From ImageNet
# weights instead: no load_from and a warm-up of 5 of 40 epochs,
# `--cfg-options model.train_cfg.self_sup_start_iter=6615`.
_base_ = [
    '../_base_/models/rcm_mam_r50.py', '../_base_/datasets/voc12_wsss.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_voc.py'
]
baseline_config = './cam_r50_voc.py'
# SupportNet (an EMA, no gradients) stays out of the parameter groups
optim_wrapper = dict(constructor='MainNetOptimWrapperConstructor')
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
