# Copyright (c) mmseg-wsss contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS, TRANSFORMS
from mmseg.structures import SegDataSample

from mmseg_wsss.datasets import PackWSSSInputs

CROP = (32, 32)


def test_pack_wsss_inputs_with_and_without_mask():
    labels = np.zeros(20, dtype=np.float32)
    labels[[3, 7]] = 1
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    results = dict(
        img=img,
        img_labels=labels,
        img_path='a.jpg',
        ori_shape=(2, 3),
        img_shape=(2, 3))
    packed = PackWSSSInputs()(dict(results))
    sample = packed['data_samples']
    assert isinstance(sample, SegDataSample)
    assert packed['inputs'].shape == (3, 2, 3)
    # HWC -> CHW: inputs[1, 1, 2] = img[1, 2, 1] = 1*9 + 2*3 + 1.
    assert packed['inputs'][1, 1, 2] == 16
    assert 'img_labels' in sample.keys()
    assert 'gt_sem_seg' not in sample
    assert sample.img_labels.dtype == torch.float32
    assert sample.img_labels.tolist() == labels.tolist()
    assert sample.img_path == 'a.jpg'

    seg = np.array([[0, 4, 255], [8, 8, 0]], dtype=np.uint8)
    packed = PackWSSSInputs()(dict(results, gt_seg_map=seg))
    assert packed['data_samples'].gt_sem_seg.data.tolist() == [seg.tolist()]
    assert packed['data_samples'].img_labels.sum() == 2

    # The packed labels are a copy: later edits of the array don't leak.
    labels[0] = 1
    assert sample.img_labels[0] == 0


def test_pack_wsss_inputs_errors():
    img = np.zeros((2, 2, 3), dtype=np.uint8)
    with pytest.raises(KeyError, match="a.jpg have no 'img_labels'"):
        PackWSSSInputs()(dict(img=img, img_path='a.jpg'))
    with pytest.raises(ValueError, match=r'b.jpg must have shape \(C,\)'):
        PackWSSSInputs()(
            dict(img=img, img_path='b.jpg', img_labels=np.zeros((1, 20))))


def _train_pipeline(with_masks):
    """mmseg's usual training transforms, crop ``CROP``."""
    pipeline = [dict(type='LoadImageFromFile')]
    if with_masks:
        pipeline.append(dict(type='LoadAnnotations'))
    pipeline += [
        dict(
            type='RandomResize',
            scale=(128, 128),
            ratio_range=(0.5, 1.0),
            keep_ratio=True),
        dict(type='RandomCrop', crop_size=CROP),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackWSSSInputs'),
    ]
    return pipeline


def _preprocessor():
    """SegDataPreProcessor padding every image to ``CROP``."""
    return MODELS.build(
        dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            size=CROP,
            pad_val=0,
            seg_pad_val=255))


def test_train_batch_without_masks(toy_voc):
    init_default_scope('mmseg')
    assert TRANSFORMS.get('PackWSSSInputs') is PackWSSSInputs
    dataset = DATASETS.build(
        dict(
            type='WeakVOCDataset',
            data_root=toy_voc,
            ann_file=osp.join('ImageSets', 'Segmentation', 'train_aug.txt'),
            data_prefix=dict(img_path='JPEGImages', seg_map_path=None),
            pipeline=_train_pipeline(with_masks=False)))
    indices = [0, 1, 150, 199]
    batch = pseudo_collate([dataset[i] for i in indices])
    data = _preprocessor()(batch, training=True)
    inputs, samples = data['inputs'], data['data_samples']
    assert inputs.shape == (4, 3, *CROP)
    assert inputs.dtype == torch.float32
    for idx, sample in zip(indices, samples):
        assert 'gt_sem_seg' not in sample
        assert sample.seg_map_path is None
        expected = dataset.get_data_info(idx)['img_labels']
        assert sample.img_labels.tolist() == expected.tolist()
        assert sample.img_labels.sum() >= 1
        # stack_batch pads to CROP and, with no mask, sets pad_shape to None.
        h, w = sample.img_shape
        assert h <= CROP[0] and w <= CROP[1]
        assert sample.pad_shape is None
    labels = torch.stack([s.img_labels for s in samples])
    assert labels.shape == (4, 20)


def test_train_batch_with_masks(toy_voc):
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='WeakVOCDataset',
            data_root=toy_voc,
            ann_file=osp.join('ImageSets', 'Segmentation', 'train.txt'),
            pipeline=_train_pipeline(with_masks=True)))
    batch = pseudo_collate([dataset[i] for i in range(3)])
    data = _preprocessor()(batch, training=True)
    assert data['inputs'].shape == (3, 3, *CROP)
    for sample in data['data_samples']:
        gt = sample.gt_sem_seg.data
        assert gt.shape == (1, *CROP)
        values = set(gt.unique().tolist())
        assert values <= {0, 1, 6, 8, 15, 20, 255}
        # Classes seen in the crop are among the image's labels.
        present = {v for v in values if v not in (0, 255)}
        labelled = {i + 1 for i in sample.img_labels.nonzero()[:, 0].tolist()}
        assert present <= labelled
