# The authors' recipe of the method (RCM + MAM with their settings) on the
# embedded toy data set (CPU, minutes): the wide ResNet-38 at 1/16 width,
# one region threshold (0.3), memory 'replace', PSA's parameter groups and
# momentum. Staged as the R18 toy: continues from `baseline_config`'s
# checkpoint (load_from=...; tools/run_pipeline.py passes it). The VOC
# preset: ../wsss/rcm_mam_r38_voc_labcode.py.
_base_ = [
    '../_base_/models/rcm_mam_r38_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py',
    '../_base_/schedules/psa_sgd.py'
]
baseline_config = './cam_r38-tiny_1xb8-300it_toyvoc-96x96.py'
optim_wrapper = dict(_base_.psa_optim_wrapper, _delete_=True)
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
