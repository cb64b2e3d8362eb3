# Second stage on the toy data set: the VOC recipe's DeepLabV3+ with a
# CPU-sized ResNet-18 (1/4 width, BN instead of SyncBN, no pretraining),
# trained on toy pseudo masks and evaluated on toy val.
_base_ = '../deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-512x512.py'  # noqa: E501
import os.path as osp  # noqa: E402 (after _base_: mmengine's old-style config)

data_root = 'data/toy_voc'
crop_size = (96, 96)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        in_channels=128,
        channels=32,
        c1_in_channels=16,
        c1_channels=8,
        dilations=(1, 2, 3, 4),
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=16, norm_cfg=norm_cfg))
# the recipe's pipelines at the toy scale, without padding (the data
# preprocessor pads to the crop) or test-time resizing
toy_scale = dict(
    RandomResize=dict(scale=(128, 128), ratio_range=(0.75, 1.5)),
    RandomCrop=dict(crop_size=crop_size))
train_pipeline = [
    dict(step, **toy_scale.get(step.type, {}))
    for step in _base_.train_pipeline if step.type != 'Pad'
]
test_pipeline = [
    step for step in _base_.test_pipeline if step.type != 'Resize'
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        # --pseudo-labels DIR of tools/train.py; a folder of the current
        # directory by default, never of data_root
        data_prefix=dict(
            seg_map_path=osp.abspath('work_dirs/toy_pseudo_labels')),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# A few hundred iterations on 2 CPU cores; seeded, gloo for DDP.
max_iters = 300
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
# tools/test.py --tta: mmseg's multi-scale + flip (SoftmaxSegTTAModel
# averages the softmax of every view, as mmseg's SegTTAModel) at three
# scales, the toy images being small
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in (0.75, 1.0, 1.25)
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
tta_model = dict(type='SoftmaxSegTTAModel')
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
