# The method (RCM + MAM) on the embedded toy data set (CPU, minutes).
# Staged recipe (docs/method.md): stage 1a trains `baseline_config`; this
# config continues from its checkpoint (load_from=...; tools/run_pipeline.py
# passes it), both networks initialised from it, self-supervision from
# iteration 0. From scratch instead: no load_from and a warm-up of 1/8 of
# the schedule, `--cfg-options model.train_cfg.self_sup_start_iter=38`
# (measured worse, benchmarks/RESULTS.md).
_base_ = [
    '../_base_/models/rcm_mam_r18_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py'
]
baseline_config = './cam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
# SupportNet (an EMA, no gradients) stays out of the parameter groups
optim_wrapper = dict(constructor='MainNetOptimWrapperConstructor')
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
