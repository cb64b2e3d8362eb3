# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Inference helpers: the model builder, the split's dataset, one image."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmseg_wsss.apis import (build_infer_dataset, infer_dataset_cfg,
                             init_model, predict_image)
from mmseg_wsss.utils import VOC_CLASSES


def test_init_model(toy_cam_checkpoint):
    cfg_path, ckpt = toy_cam_checkpoint
    plain = init_model(cfg_path)
    assert not plain.training
    assert tuple(plain.dataset_meta['classes']) == VOC_CLASSES
    assert any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in plain.modules())
    fast = init_model(cfg_path, ckpt, prepare=True)
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in fast.modules())
    # the checkpoint's weights, the training set's classes
    trained = torch.load(ckpt, map_location='cpu')
    assert fast.dataset_meta['classes'] == \
        trained['meta']['dataset_meta']['classes']
    assert fast.cfg.filename == cfg_path


def test_infer_dataset_cfg_and_one_prediction(toy_cam_checkpoint):
    cfg = Config.fromfile(toy_cam_checkpoint[0])
    wrapped = cfg.copy()
    wrapped.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=cfg.train_dataloader.dataset)
    ds_cfg = infer_dataset_cfg(wrapped, 'val', seg_map_dir='SegmentationClass')
    assert ds_cfg.type == 'WeakVOCDataset' and ds_cfg.test_mode
    assert ds_cfg.ann_file == 'ImageSets/Segmentation/val.txt'
    assert ds_cfg.data_prefix == dict(
        img_path='JPEGImages', seg_map_path='SegmentationClass')
    assert ds_cfg.pipeline == cfg.infer_pipeline

    model = init_model(cfg, toy_cam_checkpoint[1])
    dataset = build_infer_dataset(cfg, 'val')
    test_cfg = dict(model.test_cfg)
    sample = predict_image(model, dataset[0], bg_thr=0.35)
    # the overrides hold for the call only
    assert dict(model.test_cfg) == test_cfg
    logits = sample.seg_logits.data
    assert torch.all(logits[0] == 0.35)
    present = np.flatnonzero(dataset.get_data_info(0)['img_labels']) + 1
    absent = np.setdiff1d(np.arange(1, len(logits)), present)
    assert torch.all(logits[absent] == 0)
    expected = torch.where(logits[1:].max(0).values > 0.35,
                           logits[1:].argmax(0) + 1, 0)
    assert torch.equal(sample.pred_sem_seg.data[0], expected)


def test_infer_dataset_cfg_names_what_is_missing():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='X'))))
    with pytest.raises(KeyError, match='no key infer_pipeline'):
        infer_dataset_cfg(cfg)
    cfg.infer_pipeline = []
    with pytest.raises(KeyError, match='has no ann_file'):
        infer_dataset_cfg(cfg)
