# ReCAM on a toy COCO 2014 (CPU, minutes): the toy VOC recipe
# (recam_r18-tiny_1xb8-300it_toyvoc-96x96.py) with the authors' COCO
# settings of ../coco/recam_r50_coco.py (lambda 0.1, W_cam maps, background
# threshold 0.15), staged on `baseline_config` likewise.
_base_ = './recam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
baseline_config = './cam_r18-tiny_1xb8-300it_toycoco-96x96.py'
model = dict(
    cam_head=dict(num_classes=80),
    recam_head=dict(cam_weight='cam', loss_sce=dict(loss_weight=0.1)),
    test_cfg=dict(bg_thr=0.15))
coco = dict(
    type='WeakCOCODataset',
    data_root='data/toy_coco',
    ann_file='ImageSets/train.txt')
train_dataloader = dict(
    dataset=dict(coco, data_prefix=dict(img_path='', seg_map_path=None)))
val_dataloader = dict(
    dataset=dict(
        coco, data_prefix=dict(img_path='', seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
