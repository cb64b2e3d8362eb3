# Copyright (c) mmseg-wsss contributors. All rights reserved.
import logging
import os.path as osp

import pytest
from log_capture import current_log_records
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from tiny_cam_net import BACKBONE, HEAD, build_segmentor

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


def _lrs(model, constructor, custom_keys):
    """lr of every parameter (by name) and the log records of the build."""
    cfg = dict(
        type='OptimWrapper',
        constructor=constructor,
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
        paramwise_cfg=dict(custom_keys=custom_keys))
    with current_log_records() as records:
        optimizer = build_optim_wrapper(model, cfg).optimizer
    lr = {id(p): g['lr'] for g in optimizer.param_groups for p in g['params']}
    return {n: lr[id(p)] for n, p in model.named_parameters()}, records


def test_anchored_keys_match_their_module_only():
    """mmengine matches keys as substrings: 'cam_head' also hits
    recam_head.predictor; '.cam_head.' on this constructor does not."""
    model = build_segmentor(recam_head=dict(type='ReCAMHead'))
    assert 'recam_head.predictor.weight' in dict(model.named_parameters())
    plain, _ = _lrs(model, 'DefaultOptimWrapperConstructor',
                    {'cam_head': dict(lr_mult=10.0)})
    assert plain['recam_head.predictor.weight'] == pytest.approx(0.1)

    lrs, records = _lrs(model, 'MainNetOptimWrapperConstructor', {
        '.cam_head.': dict(lr_mult=10.0),
        '.recam_head.': dict(lr_mult=100.0)
    })
    assert not [r for r in records if r.levelno >= logging.WARNING]
    for name, lr in lrs.items():
        expected = {
            'cam_head': 0.1,
            'recam_head': 1.0
        }.get(name.split('.')[0], 0.01)
        assert lr == pytest.approx(expected), name
    assert lrs['cam_head.classifier.weight'] == pytest.approx(0.1)
    # an unanchored key keeps mmengine's substring rule
    lrs, _ = _lrs(model, 'MainNetOptimWrapperConstructor',
                  {'cam_head': dict(lr_mult=10.0)})
    assert lrs == plain


def test_a_key_that_matches_nothing_is_one_warning():
    model = build_segmentor()
    _, records = _lrs(model, 'MainNetOptimWrapperConstructor', {
        '.cam_head.': dict(lr_mult=10.0),
        '.recam_head.': dict(lr_mult=10.0)
    })
    warnings = [
        r.getMessage() for r in records if r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1 and "['.recam_head.']" in warnings[0]
