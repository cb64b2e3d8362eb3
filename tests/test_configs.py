# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Every config in configs/ builds: its model and its data pipelines."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(__file__)), 'configs')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_configs_are_found():
    names = {osp.relpath(p, CONFIG_ROOT) for p in CONFIGS}
    assert 'wsss/rcm_mam_r50_voc.py' in names
    assert 'wsss/cam_r50_voc.py' in names


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, CONFIG_ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.model.copy()
    # Pretrained weights are the user's to provide; building must not load.
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    assert model is not None
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        Compose(cfg[key].dataset.pipeline)
    if 'infer_pipeline' in cfg:
        Compose(cfg.infer_pipeline)
