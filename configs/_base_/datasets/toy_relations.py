# The embedded toy data set for IRN's relation network. Its images (64-128
# px) are 1/4 to 1/8 of VOC's 500 px, so a boundary map at stride 4 would
# have 16-32 cells a side and a one-cell boundary would cover 1/16 to 1/8
# of an object; the relation network therefore sees every image at twice
# its size (the refined masks come back at the image's size): trained on
# crops of 192 x 192 from images rescaled to 128-384 px (IRN's 0.5-1.5 of
# 256 px), refined at 2x.
_base_ = './voc12_relations.py'
import os.path as osp  # noqa: E402 (after _base_: mmengine's old-style config)

crop_size = (192, 192)
train_pipeline = [
    dict(step, scale=(256, 256)) if step.type == 'RandomResize' else
    dict(step, crop_size=crop_size) if step.type == 'RandomCrop' else step
    for step in _base_.train_pipeline
]
data_root = 'data/toy_voc'
relation_label_dir = osp.abspath('work_dirs/toy_relation_labels')
cam_dir = osp.abspath('work_dirs/toy_cams/cams')
twice = dict(type='Resize', scale_factor=2.0, keep_ratio=True)
# Resize before LoadAnnotations: the masks stay at the image's size
test_pipeline = [
    _base_.test_pipeline[0], twice, _base_.test_pipeline[1],
    dict(_base_.test_pipeline[2], cam_dir=cam_dir), _base_.test_pipeline[3]
]
infer_pipeline = [
    _base_.infer_pipeline[0], twice,
    dict(_base_.infer_pipeline[1], cam_dir=cam_dir), _base_.infer_pipeline[2]
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(seg_map_path=relation_label_dir),
        pipeline=train_pipeline),
    batch_size=8,
    num_workers=0,
    persistent_workers=False)
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline),
    num_workers=0,
    persistent_workers=False)
test_dataloader = val_dataloader
