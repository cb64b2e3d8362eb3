# Copyright (c) mmseg-wsss contributors. All rights reserved.
import logging
import os.path as osp

import pytest
from log_capture import current_log_records
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from tiny_cam_net import BACKBONE, HEAD

import mmseg_wsss  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHOD_CONFIGS = [
    osp.join(REPO_ROOT, 'configs', name)
    for name in ('toy/rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
                 'wsss/rcm_mam_r50_voc.py')
]
OPTIM_WRAPPER = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'cam_head': dict(lr_mult=10.0)}))


def _build(constructor):
    """The optimizer of a tiny DualCAMSegmentor and mmengine's log lines."""
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(type='DualCAMSegmentor', backbone=BACKBONE, cam_head=HEAD))
    with current_log_records() as records:
        wrapper = build_optim_wrapper(
            model, dict(OPTIM_WRAPPER, constructor=constructor))
    return model, wrapper.optimizer, records


def test_default_constructor_warns_once_per_support_net_parameter():
    model, _, records = _build('DefaultOptimWrapperConstructor')
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == len(list(model.support.parameters()))


def test_support_net_is_left_out_in_one_line():
    model, optimizer, records = _build('MainNetOptimWrapperConstructor')
    assert not [r for r in records if r.levelno >= logging.WARNING]
    lines = [r.getMessage() for r in records if 'left out' in r.getMessage()]
    assert lines == [
        'support (ExponentialMovingAverage) is left out of the optimizer: '
        'it follows its source model, not gradients'
    ]
    optimised = {
        id(p): g['lr']
        for g in optimizer.param_groups
        for p in g['params']
    }
    main = dict(model._main_modules().named_parameters())
    assert set(optimised) == {id(p) for p in main.values()}
    for name, param in main.items():
        lr = 0.1 if name.startswith('cam_head') else 0.01
        assert optimised[id(param)] == pytest.approx(lr), name


@pytest.mark.parametrize('path', METHOD_CONFIGS)
def test_method_configs_select_it(path):
    cfg = Config.fromfile(path)
    assert cfg.optim_wrapper.constructor == 'MainNetOptimWrapperConstructor'
