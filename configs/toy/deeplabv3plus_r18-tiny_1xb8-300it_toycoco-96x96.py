# Second stage on a toy COCO 2014: the toy VOC recipe
# (deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py) with COCO's 81
# classes, trained on the pseudo masks of the toy train list and evaluated
# on its val list, as ../coco/deeplabv3plus_r101-d8_4xb4-100k_coco14-pseudo-
# 512x512.py.
_base_ = './deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py'
data_root = 'data/toy_coco'
model = dict(
    decode_head=dict(num_classes=81), auxiliary_head=dict(num_classes=81))
coco = dict(type='WeakCOCODataset', data_root=data_root)
train_dataloader = dict(
    dataset=dict(
        coco, ann_file='ImageSets/train.txt', data_prefix=dict(img_path='')))
val_dataloader = dict(
    dataset=dict(
        coco,
        ann_file='ImageSets/val.txt',
        data_prefix=dict(img_path='', seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
