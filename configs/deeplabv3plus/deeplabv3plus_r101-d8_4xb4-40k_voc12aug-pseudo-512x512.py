# Second stage: mmseg's own DeepLabV3+ R101 recipe, trained on the pseudo
# masks of VOC train_aug (tools/make_pseudo_labels.py or
# tools/make_refined_labels.py) and evaluated on val with mmseg's IoUMetric.
# Point it at the pseudo labels with tools/train.py --pseudo-labels DIR;
# the default is a folder of the directory the config is loaded from.
_base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py'  # noqa: E501
import os.path as osp  # noqa: E402 (after _base_: mmengine's old-style config)

custom_imports = dict(imports=['mmseg_wsss'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/VOC2012'
# mmseg's ImageNet weights (its `pretrained` shortcut), as an init_cfg: the
# same override key as the CAM configs (docs/get_started.md)
model = dict(
    pretrained=None,
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        # mmseg's PascalVOCDataset reading split files as the first stage
        # does (DeepLab-style lines too), every pseudo label checked
        type='VOCSegDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path=osp.abspath('work_dirs/pseudo_labels')),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(type='VOCSegDataset'))
test_dataloader = val_dataloader
# mmseg-wsss' CheckpointHook: a crash while saving leaves the previous
# checkpoint and `last_checkpoint` loadable; of the schedule's ten
# checkpoints (every 4,000 iterations) the last two are kept.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', max_keep_ckpts=2),
    # the heads' num_classes against the dataset's classes (as in
    # ../_base_/default_runtime.py, which this config does not inherit)
    num_class_check=dict(type='NumClassCheckHook'))
# tools/test.py --tta uses mmseg's `tta_pipeline` of the VOC base (scales
# 0.5-1.75 + flip), merged as mmseg's SegTTAModel does (the mean softmax)
# by SoftmaxSegTTAModel, which keeps the probabilities.
tta_model = dict(type='SoftmaxSegTTAModel')
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=16)
