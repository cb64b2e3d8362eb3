# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""NumClassCheckHook: heads against the dataset's classes, when the
runner starts a loop."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmseg_wsss.engine.hooks.num_class_check_hook import class_count_mismatches

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs')
TOY_CAM = osp.join(CONFIGS, 'toy', 'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
TOY_DEEPLAB = osp.join(CONFIGS, 'toy',
                       'deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py')


def build_model(path, **overrides):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(overrides)
    init_default_scope('mmseg')
    return MODELS.build(cfg.model)


def test_mismatches_name_the_config_keys():
    cam = build_model(TOY_CAM)
    # ours count foreground classes: 20 fit VOC's 21 classes
    assert class_count_mismatches(cam, 21) == []
    assert class_count_mismatches(cam, 81) == [('model.cam_head.num_classes',
                                                20, 80)]
    deeplab = build_model(TOY_DEEPLAB)
    # mmseg's heads count all classes
    assert class_count_mismatches(deeplab, 21) == []
    assert class_count_mismatches(deeplab, 81) == [
        ('model.decode_head.num_classes', 21, 81),
        ('model.auxiliary_head.num_classes', 21, 81)
    ]


def test_the_runner_refuses_a_head_of_another_class_count(
        small_root, tmp_path):
    cfg = Config.fromfile(TOY_CAM)
    cfg.merge_from_dict({
        'model.cam_head.num_classes': 5,
        'train_dataloader.dataset.data_root': small_root,
        'train_dataloader.dataset.ann_file':
        'ImageSets/Segmentation/train4.txt',
        'train_cfg.max_iters': 1,
        'work_dir': str(tmp_path)
    })
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError) as err:
        runner.train()
    message = str(err.value)
    assert 'WeakVOCDataset of train_dataloader, which has 21 classes' in \
        message
    assert 'model.cam_head.num_classes=5 (expected 20)' in message
    assert 'Set model.cam_head.num_classes=20 in the config' in message
    assert runner.iter == 0
