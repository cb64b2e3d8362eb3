# Second stage on MS COCO 2014: the VOC recipe's DeepLabV3+ R101
# (../deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-512x512.py)
# trained on the pseudo masks of train2014 and evaluated on every val2014
# image (40,504; the 40,137 often quoted are those with objects) against the
# converted masks, 81 classes, crowd regions ignored (255). The WSSS
# papers' COCO second stage (ReCAM / LPCAM: DeepLab-v2 R101, 81 classes,
# 100k iterations, batch 10 x 2) sets the schedule: 100k iterations here at
# mmseg's batch 16. Point it at the pseudo labels with tools/train.py
# --pseudo-labels DIR (default: work_dirs/pseudo_labels of the current
# directory, never of data_root).
_base_ = '../deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-512x512.py'  # noqa: E501
import os.path as osp  # noqa: E402 (after _base_: mmengine's old-style config)

data_root = 'data/coco'
model = dict(
    decode_head=dict(num_classes=81), auxiliary_head=dict(num_classes=81))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='WeakCOCODataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='', seg_map_path=osp.abspath('work_dirs/pseudo_labels')),
        ann_file='ImageSets/train.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='WeakCOCODataset',
        data_root=data_root,
        data_prefix=dict(img_path='', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
max_iters = 100000
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=10000)
default_hooks = dict(checkpoint=dict(interval=10000))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=16)
