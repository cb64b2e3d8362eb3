# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Config mistakes fail at build time or at the first batch, by name."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_BASELINE = osp.join(REPO_ROOT, 'configs', 'toy',
                        'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')


@pytest.mark.parametrize('type', ['CAMSegmentor', 'DualCAMSegmentor'])
@pytest.mark.parametrize('test_cfg, match', [
    (dict(bg_thresh=0.2), r"test_cfg has unknown keys \['bg_thresh'\]"),
    (dict(scales=1.0), r'test_cfg.scales must be a non-empty list'),
    (dict(scales='1.0'), r"test_cfg.scales .* got '1.0'"),
    (dict(scales=[]), r'test_cfg.scales must be a non-empty list'),
    (dict(scales=(1.0, float('nan'))), r'test_cfg.scales .* got \(1.0, nan'),
    (dict(scales=(1.0, True)), r'test_cfg.scales .* positive scales'),
    (dict(cls_thr=1.5), r'test_cfg.cls_thr must lie in \(0, 1\)'),
    (dict(max_side=0), r'test_cfg.max_side must be a positive int'),
    (dict(max_side=512.0), r'test_cfg.max_side must be a positive int'),
])
def test_bad_test_cfg_fails_at_build(tiny_model, type, test_cfg, match):
    with pytest.raises(ValueError, match=match):
        tiny_model(type, test_cfg=test_cfg)


@pytest.mark.parametrize('cfg, match', [
    (dict(train_cfg=dict(support_scale=(1.0, ))),
     r"train_cfg has unknown keys \['support_scale'\]; known keys: "
     r"\[.*'support_scales'"),
    (dict(mam_head=dict(type='MAMHead', main_scales=1.0)),
     r'mam_head.main_scales must be a non-empty'),
    (dict(train_cfg=dict(support_scales=(1.0, float('inf')))),
     r'train_cfg.support_scales .* positive scales'),
    (dict(rcm_head=dict(type='RCMHead', region_thrs=(0.3, ))),
     r'rcm_head.region_thrs must be'),
    (dict(rcm_head=dict(type='RCMHead', region_thrs=(float('nan'), 0.5))),
     r'rcm_head.region_thrs must be'),
])
def test_bad_train_cfg_fails_at_build(tiny_model, cfg, match):
    with pytest.raises(ValueError, match=match):
        tiny_model(**cfg)


def test_predict_on_typo_fails_at_build(tiny_model):
    with pytest.raises(ValueError, match="predict_on must be 'main' or"):
        tiny_model(test_cfg=dict(predict_on='supportnet'))


@pytest.mark.parametrize('mode', ['train', 'test'])
def test_head_and_dataset_class_counts_differ(toy_voc, mode):
    cfg = Config.fromfile(TOY_BASELINE)
    init_default_scope('mmseg')
    loader = cfg.train_dataloader if mode == 'train' else cfg.val_dataloader
    dataset = DATASETS.build(dict(loader.dataset, data_root=toy_voc))
    # a head for 5 classes on the 20-class VOC labels
    cfg.model.cam_head.num_classes = 5
    model = MODELS.build(cfg.model)
    batch = pseudo_collate([dataset[0]])
    name = osp.basename(dataset.get_data_info(0)['img_path'])
    with pytest.raises(
            ValueError,
            match=rf'{name}: img_labels has 20 classes but the head has '
            'num_classes=5'):
        if mode == 'train':
            model.train().loss(**model.data_preprocessor(batch, True))
        else:
            model.eval().predict(**model.data_preprocessor(batch, False))
