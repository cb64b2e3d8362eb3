# Stage 1a of the authors' recipe on the embedded toy data set (CPU,
# minutes): the wide ResNet-38 at 1/16 width from scratch, with PSA's
# parameter groups and momentum (_base_/schedules/psa_sgd.py) on the toy
# schedule. The VOC preset: ../wsss/cam_r38_voc_labcode.py.
_base_ = [
    '../_base_/models/cam_r38_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py',
    '../_base_/schedules/psa_sgd.py'
]
optim_wrapper = dict(_base_.psa_optim_wrapper, _delete_=True)
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
