# voc12_wsss.py with PSA's and SEAM's 448 x 448 crop (PSA train_cls.py:
# long side 256..512 as here, then a 448 crop; most of each image fits).
_base_ = './voc12_wsss.py'
crop_size = (448, 448)
train_pipeline = [
    dict(step, crop_size=crop_size) if step.type == 'RandomCrop' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
