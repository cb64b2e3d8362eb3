# PASCAL VOC 2012 with image-level labels and IRN's CAM-training
# augmentation (jiwoon-ahn/irn: voc12/dataloader.py, misc/imutils.py,
# step/train_cam.py): the long side rescaled to 320..640 (PIL bicubic), a
# horizontal flip, a 512 x 512 crop whose canvas holds the image at a random
# offset on a side shorter than 512; no colour jitter. Batch 16.
_base_ = './voc12_wsss.py'
crop_size = (512, 512)
# the data preprocessor's mean in the loaded image's BGR order: the padding
# normalises to 0, as IRN's canvas (zeros after normalisation)
mean_bgr = (103.53, 116.28, 123.675)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # long side int(640 * r), r uniform in [0.5, 1]
    dict(
        type='RandomResize',
        scale=(640, 640),
        ratio_range=(0.5, 1.0),
        keep_ratio=True,
        interpolation='bicubic',
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    # mmseg's RandomCrop + padding would put the image top-left only
    dict(type='RandomCropOrPad', crop_size=crop_size, pad_val=mean_bgr),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
