# PASCAL VOC 2012 for IRN's relation network: relation labels of train_aug
# to train on, the exported CAMs of train to refine (with masks for mIoU).
# Both inputs are written by earlier steps; the tools point at them with
#   --relation-dir DIR  relation labels, one PNG per train_aug image (0
#                       background, 1..20 classes, 255 unknown): the
#                       training masks (data_prefix.seg_map_path)
#   --cam-dir DIR       CAMs, {image name}.npz of make_pseudo_labels.py
#                       --save-cams (OUT/cams): every LoadCAMFromFile
# Their defaults below are folders of the directory the config is loaded
# from (never of data_root, which may be a link to a shared disk).
_base_ = './voc12_wsss.py'
import os.path as osp  # noqa: E402 (after _base_: mmengine's old-style config)

relation_label_dir = osp.abspath('work_dirs/relation_labels')
cam_dir = osp.abspath('work_dirs/cams/cams')
crop_size = (512, 512)
# IRN rescales each image by 0.5-1.5 (VOC images are about 500 px long),
# flips, and crops 512 x 512; relation labels are the segmentation maps.
rescale = dict(scale=(500, 500), ratio_range=(0.5, 1.5), keep_ratio=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # the relation labels
    dict(type='RandomResize', **rescale),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
# Refinement: the image at its size, its mask (for IoUMetric) and its CAMs.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadCAMFromFile', cam_dir=cam_dir),
    dict(type='PackCAMInputs'),
]
# Refined pseudo-mask export (images without masks).
infer_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadCAMFromFile', cam_dir=cam_dir),
    dict(type='PackCAMInputs'),
]
train_dataloader = dict(
    batch_size=32,  # IRN's; with N GPUs use 32 / N
    dataset=dict(
        data_prefix=dict(seg_map_path=relation_label_dir),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# relation labels: IRN's thresholds (PseudoLabelWriter kind 'relation')
relation_cfg = dict(conf_fg_thr=0.30, conf_bg_thr=0.05)
# refined masks scored as the CAMs and as the pipeline scores them: over
# the background-threshold sweep (best_bg_thr, its mIoU, and mIoU@t of every
# t, the model's test_cfg.bg_thr among them)
val_evaluator = dict(type='CAMIoUMetric')
test_evaluator = val_evaluator
