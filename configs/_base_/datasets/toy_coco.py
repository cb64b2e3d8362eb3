# A toy COCO 2014 (tools/misc/make_toy_coco.py writes one: 14 + 4 images of
# at most 64 px, converted by tools/dataset_converters/coco_wsss.py): COCO's
# layout and classes with the toy VOC pipeline's scale.
_base_ = './coco2014_wsss.py'
data_root = 'data/toy_coco'
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
