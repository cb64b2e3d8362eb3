# IRN's semantic refinement on a toy COCO 2014: the toy VOC recipe
# (../irn/irn_r18-tiny_1xb8-300it_toyvoc-192x192.py) on the layout, classes
# and relation thresholds of ../coco/irn_r50_coco.py.
_base_ = '../irn/irn_r18-tiny_1xb8-300it_toyvoc-192x192.py'
model = dict(num_classes=80, test_cfg=dict(bg_thr=0.25))
coco = dict(
    type='WeakCOCODataset',
    data_root='data/toy_coco',
    ann_file='ImageSets/train.txt')
train_dataloader = dict(dataset=dict(coco, data_prefix=dict(img_path='')))
val_dataloader = dict(
    dataset=dict(
        coco, data_prefix=dict(img_path='', seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
relation_cfg = dict(conf_fg_thr=0.35, conf_bg_thr=0.10)
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
