# The embedded toy data set (64-128 px images) with IRN's CAM-training
# augmentation of voc12_wsss_irn.py at an eighth of its scale: long side
# 40..80, crop 64.
_base_ = './voc12_wsss_irn.py'
data_root = 'data/toy_voc'
crop_size = (64, 64)
toy_scale = dict(
    RandomResize=dict(scale=(80, 80)),
    RandomCropOrPad=dict(crop_size=crop_size))
train_pipeline = [
    dict(step, **toy_scale.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
