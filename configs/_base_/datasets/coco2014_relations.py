# MS COCO 2014 for IRN's relation network, as voc12_relations.py for VOC
# (same pipelines; inputs and how to point at them there): relation labels
# of train2014 to train on, the exported CAMs of train2014 to refine, as
# ReCAM's COCO code refines and scores train2014 (81 classes). Relation
# labels with ReCAM's COCO thresholds (run_sample_coco.py: conf_fg 0.35,
# conf_bg 0.10; IRN's VOC ones are 0.30 / 0.05).
_base_ = './voc12_relations.py'
dataset_type = 'WeakCOCODataset'
data_root = 'data/coco'
num_classes = 80
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(img_path='')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(img_path='', seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
relation_cfg = dict(conf_fg_thr=0.35, conf_bg_thr=0.10)
