# PASCAL VOC 2012 with image-level labels (train_aug = VOC train + SBD).
dataset_type = 'WeakVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (384, 384)
num_classes = 20  # foreground classes; background is implied
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # long side rescaled to 256..512 (ratio 0.5..1.0 of 512)
    dict(
        type='RandomResize',
        scale=(512, 512),
        ratio_range=(0.5, 1.0),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='mmpretrain.ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.1, keep_channels=True),
    # images smaller than the crop are padded by the data preprocessor
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
# CAM evaluation: the image at its own size, with its mask and labels.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]
# Pseudo-label export: no masks needed.
infer_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=None),
        pipeline=train_pipeline))
# CAM mIoU is measured on VOC `train` (1,464 images with masks).
val_dataloader = dict(
    train_dataloader,
    batch_size=1,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'],
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CAMIoUMetric')
test_evaluator = val_evaluator
