# Stage 1a of the authors' recipe: the CAM network on PSA's wide ResNet-38,
# trained as PSA trains its CAM network (train_cls.py), on VOC train_aug.
# Name in mmseg's scheme: cam_r38-d8_1xb16-15e_voc12aug-448x448.
# Needs the converted ImageNet weights:
# docs/advanced_guides/resnet38_preset.md.
#
# Departures from cam_r50_voc.py, each from its source:
# - backbone: wide ResNet-38, output stride 8, BN and conv1a / b2* frozen
#   (_base_/models/wide_resnet38.py; the authors' code, PSA, SEAM);
# - crop 448 (PSA, SEAM; _base_/datasets/voc12_wsss_crop448.py);
# - batch 16, lr 0.1, 15 epochs, weight decay 5e-4, poly 0.9 (PSA
#   train_cls.py defaults);
# - PSA's parameter groups and momentum 5e-4 (_base_/schedules/psa_sgd.py).
# Kept from cam_r50_voc.py: the CAM head (1x1 conv + ReLU to D = 256 before
# the classifier, see _base_/models/cam_r38.py), the colour augmentation,
# multi-scale + flip CAM inference (PSA's scales).
_base_ = [
    '../_base_/models/cam_r38.py', '../_base_/datasets/voc12_wsss_crop448.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40e_voc.py',
    '../_base_/schedules/psa_sgd.py'
]
train_dataloader = dict(batch_size=16)
max_iters = 9915  # 15 * floor(10582 / 16): PSA drops the last batch
optim_wrapper = dict(
    _base_.psa_optim_wrapper,
    _delete_=True,
    optimizer=dict(_base_.psa_optim_wrapper.optimizer, lr=0.1))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=16)
