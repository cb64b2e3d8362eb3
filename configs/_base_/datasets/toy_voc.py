# The embedded toy data set (mmseg_wsss/datasets/toy_voc.py): VOC layout, small
# images (64-128 px), a few classes. VOC's pipeline at a quarter of its scale.
_base_ = './voc12_wsss.py'
data_root = 'data/toy_voc'
crop_size = (96, 96)
toy_scale = dict(
    RandomResize=dict(scale=(128, 128)), RandomCrop=dict(crop_size=crop_size))
train_pipeline = [
    dict(step, **toy_scale.get(step.type, {}))
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
