# IRN's semantic refinement on PASCAL VOC 2012 (Ahn, Cho and Kwak, CVPR 2019):
# a boundary head on a frozen ImageNet ResNet-50 (the CAM network's
# initialisation, output stride 16) learns class boundaries from relation
# labels mined from the CAMs of train_aug; test() refines the exported CAMs
# of VOC train by a random walk and measures the refined masks' mIoU.
# Name in mmseg's scheme: irn_r50-d16_1xb32-990it_voc12aug-512x512.
#
# Its inputs (relation labels, CAMs) and how to point at them:
# ../_base_/datasets/voc12_relations.py.
#
# As IRN: the walk takes the exported CAMs at stride 4, normalised per class
# there (make_cam.py's ``cam``); each test image is padded to 512 x 512 for
# the network (GroupNorm sees what it saw in training); training pairs have
# their source pixel's whole radius inside the crop. Departures from IRN's
# code (./irn_r50-tv_voc.py is IRN's network; these are its departures too):
# - the backbone is our CAM network's ResNetV1c-50 (deep stem), not the
#   torchvision ResNet-50, and the boundary head reads four levels (the
#   stages; each 1x1 conv -> GroupNorm -> ReLU, resized to stride 4, 4 x 32
#   = 128 channels -> 1; IRN: five levels with the stem, ReLU after the
#   upsampling, 160 channels); the head starts from a Kaiming init.
# - rescaling: the long side to int(500 * r), r uniform in [0.5, 1.5];
#   bilinear; mmseg's RandomCrop with padding at the bottom and right
#   (IRN: the image scaled by r, bicubic, at a random offset in the crop).
# - momentum 0 (IRN: 1e-4, its weight decay in SGD's momentum slot).
_base_ = [
    '../_base_/models/cam_r50.py', '../_base_/models/irn.py',
    '../_base_/datasets/voc12_relations.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40e_voc.py'
]
model = dict(
    _base_.irn,
    _delete_=True,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, size=_base_.crop_size),
    backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3)),
    boundary_head=dict(
        _base_.irn.boundary_head, in_channels=(256, 512, 1024, 2048)),
    test_cfg=dict(_base_.irn.test_cfg, pad_size=_base_.crop_size))
# the backbone is cam_r50's ImageNet initialisation, not the CAM checkpoint
backbone_from_cam_checkpoint = False
# IRN: 3 epochs of train_aug (10,582 images) at batch 32, lr 0.1 with poly
# decay, weight decay 1e-4, and momentum 1e-4 (its optimiser passes the
# weight decay in SGD's momentum argument): plain SGD here.
max_iters = 990
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=32)
