# MS COCO 2014 with image-level labels, in the layout that
# tools/dataset_converters/coco_wsss.py writes next to the downloaded images
# (docs/user_guides/10_coco.md). VOC's pipelines (voc12_wsss.py) unchanged.
# Splits as ReCAM's COCO code: train = every train2014 image (82,783; those
# without objects are negatives of every class), val = every val2014 image
# (40,504).
_base_ = './voc12_wsss.py'
dataset_type = 'WeakCOCODataset'
data_root = 'data/coco'
num_classes = 80  # foreground classes; background is implied
# every image's folder (train2014/, val2014/) follows from its name
data_prefix = dict(img_path='', seg_map_path='SegmentationClass')
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(data_prefix, seg_map_path=None)))
# CAM mIoU as ReCAM measures seeds and masks on COCO: on train2014 (81
# classes). A subset for quicker numbers: test_dataloader.dataset.indices=N
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=data_prefix))
test_dataloader = val_dataloader
