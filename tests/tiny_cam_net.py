# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The smallest real CAM network the tests build (shared config pieces)."""

NUM_CLASSES = 3
# A ResNet-18 at 1/8 width with output stride 8: 32 x 32 inputs give 4 x 4
# CAMs in a few milliseconds.
BACKBONE = dict(
    type='ResNetV1c',
    depth=18,
    stem_channels=8,
    base_channels=8,
    num_stages=4,
    out_indices=(3, ),
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    contract_dilation=True)
HEAD = dict(
    type='CAMHead', in_channels=64, channels=16, num_classes=NUM_CLASSES)


def build_segmentor(type='CAMSegmentor', **kwargs):
    """A CAM segmentor of this network on 32 x 32 inputs, one test scale,
    weights initialised; ``kwargs`` replace or add config keys."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = dict(
        type=type,
        backbone=BACKBONE,
        cam_head=HEAD,
        data_preprocessor=dict(type='SegDataPreProcessor', size=(32, 32)),
        test_cfg=dict(scales=(1.0, ), flip=False))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def labelled_batch(img_labels, size=32, seed=0):
    """Random images (N, 3, size, size) and samples with ``img_labels``
    (one row of C floats per image)."""
    import torch
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(len(img_labels), 3, size, size, generator=gen)
    samples = []
    for i, row in enumerate(img_labels):
        sample = SegDataSample(
            metainfo=dict(
                img_path=f'{i}.jpg',
                ori_shape=(size, size),
                img_shape=(size, size),
                padding_size=(0, 0, 0, 0)))
        sample.set_data(dict(img_labels=torch.tensor(row).float()))
        samples.append(sample)
    return inputs, samples
