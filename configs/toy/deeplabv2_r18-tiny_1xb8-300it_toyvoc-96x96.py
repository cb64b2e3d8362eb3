# The papers' second stage on the toy data set: the VOC DeepLab-v2 recipe
# with a CPU-sized ResNet-18 (1/4 width, trainable BN, no pretraining),
# dilations scaled to the toy feature size, trained on toy pseudo masks and
# evaluated on toy val (plain, --tta, --tta --crf).
_base_ = '../deeplabv2/deeplabv2_r101-caffe-d8_1xb10-20k_voc12aug-pseudo-321x321.py'  # noqa: E501
data_root = 'data/toy_voc'
crop_size = (96, 96)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18,
        style='pytorch',
        stem_channels=16,
        base_channels=16,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(in_channels=128, dilations=(1, 2, 3, 4)))
train_pipeline = [
    dict(step, crop_size=crop_size) if step.type == 'RandomCrop' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(seg_map_path='pseudo_labels'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# The recipe's lr (2.5e-4) is set for ImageNet weights; a randomly
# initialised network hardly moves at it in 300 iterations, so the toy
# trains at the lr of the toy DeepLabV3+ (mmseg's 0.01), same multipliers.
max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
