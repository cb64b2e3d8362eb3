# IRN's semantic refinement (irn_r50_voc.py) on PSA's wide ResNet-38, the
# backbone of the authors' recipe: the boundary head reads the taps at
# strides 4, 8, 8, 8 (256, 512, 1024 and 4096 channels: the BN-ReLU'd
# inputs of b4, b5 and b6, as SEAM's conv3 and PSA's conv4 / conv5, and the
# final feature) instead of ResNet-50's levels at 4, 8, 16, 16. The
# backbone is the frozen ImageNet model, as IRN keeps its own; it needs the
# converted weights (docs/advanced_guides/resnet38_preset.md).
# Name in mmseg's scheme: irn_r38-d8_1xb32-990it_voc12aug-512x512.
_base_ = ['./irn_r50_voc.py', '../_base_/models/wide_resnet38.py']
model = dict(
    backbone=dict(
        _base_.wide_resnet38, _delete_=True, out_indices=(1, 2, 3, 5)),
    boundary_head=dict(in_channels=(256, 512, 1024, 4096)))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=32)
