# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The authors' recipe (ResNet-38 preset): PSA's parameter groups, and the
toy configs trained and tested by real Runners."""
import logging
import os.path as osp

import pytest
import torch
import torch.nn as nn
from log_capture import current_log_records
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
VOC_METHOD = osp.join(CONFIGS, 'wsss', 'rcm_mam_r38_voc_labcode.py')
VOC_BASELINE = osp.join(CONFIGS, 'wsss', 'cam_r38_voc_labcode.py')
TOY_BASELINE = osp.join(CONFIGS, 'toy',
                        'cam_r38-tiny_1xb8-300it_toyvoc-96x96.py')
TOY_METHOD = osp.join(CONFIGS, 'toy',
                      'rcm-mam_r38-tiny_1xb8-300it_toyvoc-96x96.py')


def _build_optimizer(model, optim_wrapper):
    """The optimizer and the log records of building it."""
    with current_log_records() as records:
        optimizer = build_optim_wrapper(model, optim_wrapper).optimizer
    return optimizer, records


def _groups(optimizer):
    """id(parameter) -> (lr, weight decay)."""
    return {
        id(p): (g['lr'], g['weight_decay'])
        for g in optimizer.param_groups
        for p in g['params']
    }


def test_voc_preset_groups_hold_the_trainable_tensors_at_psa_multipliers():
    """The VOC method config (backbone at 1/16 width, no weights file): the
    backbone's trainable conv weights x1, the new layers x10, their bias
    x20 without decay; frozen layers, BN and SupportNet in no group."""
    cfg = Config.fromfile(VOC_METHOD)
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(
            cfg.model,
            backbone=dict(
                cfg.model.backbone, width_mult=1 / 16, init_cfg=None)))
    optimizer, records = _build_optimizer(model, cfg.optim_wrapper)
    assert not [r for r in records if r.levelno >= logging.WARNING]
    assert any('frozen layers' in r.getMessage() for r in records)
    assert optimizer.defaults['momentum'] == 5e-4  # PSA's quirk

    groups = _groups(optimizer)
    main = dict(model._main_modules().named_parameters())
    trainable = {n for n, p in main.items() if p.requires_grad}
    assert {id(main[n]) for n in trainable} == set(groups)
    frozen = set(main) - trainable
    assert 'backbone.conv1a.weight' in frozen
    assert 'backbone.b2_2.conv_branch2b1.weight' in frozen
    assert 'backbone.b7.bn_branch2b2.weight' in frozen
    assert 'backbone.b3.conv_branch2a.weight' in trainable
    expected = {
        'cam_head.feat_conv.conv.weight': (0.1, 5e-4),
        'cam_head.feat_conv.conv.bias': (0.2, 0.0),
        'cam_head.classifier.weight': (0.1, 5e-4),
    }
    for name in trainable:
        lr, decay = groups[id(main[name])]
        want = expected.get(name, (0.01, 5e-4))
        # the backbone trains conv weights only (no biases, BN frozen)
        assert name.startswith('cam_head') or ('.conv' in name and
                                               name.endswith('.weight')), name
        assert (lr, decay) == pytest.approx(want), name


def test_psa_groups_give_pretrained_biases_twice_the_lr_without_decay():
    """The full PSA table on a model that has every kind of tensor."""
    cfg = Config.fromfile(VOC_BASELINE)
    init_default_scope('mmseg')
    model = nn.Module()
    model.backbone = nn.Conv2d(3, 4, 1, bias=True)
    model.cam_head = nn.Module()
    model.cam_head.feat_conv = nn.Module()
    model.cam_head.feat_conv.conv = nn.Conv2d(4, 4, 1, bias=True)
    model.cam_head.classifier = nn.Conv2d(4, 2, 1, bias=False)
    groups = _groups(_build_optimizer(model, cfg.optim_wrapper)[0])
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == 0.1  # PSA train_cls.py
    expected = {
        'backbone.weight': (lr, 5e-4),
        'backbone.bias': (2 * lr, 0.0),
        'cam_head.feat_conv.conv.weight': (10 * lr, 5e-4),
        'cam_head.feat_conv.conv.bias': (20 * lr, 0.0),
        'cam_head.classifier.weight': (10 * lr, 5e-4),
    }
    params = dict(model.named_parameters())
    assert params.keys() == expected.keys()
    for name, param in params.items():
        assert groups[id(param)] == pytest.approx(expected[name]), name


def _toy_cfg(path, data_root, work_dir, iters=2, **options):
    cfg = Config.fromfile(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    # no validation: runner.test() below evaluates the method once
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_dataloader.dataset.indices = 4
    cfg.model.test_cfg.scales = (1.0, )
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return cfg


def test_toy_preset_trains_in_two_stages_and_tests(toy_voc, tmp_path):
    base = Runner.from_cfg(_toy_cfg(TOY_BASELINE, toy_voc, tmp_path / 'cam'))
    base.train()
    assert type(base.model.backbone).__name__ == 'WideResNet38'
    base_ckpt = str(tmp_path / 'cam' / 'iter_2.pth')

    runner = Runner.from_cfg(
        _toy_cfg(
            TOY_METHOD, toy_voc, tmp_path / 'method', load_from=base_ckpt))
    runner.train()
    assert runner.model.rcm_head.memory_mode == 'replace'
    assert runner.model.rcm_head.region_thrs == (0.3, 0.3)
    logged = runner.message_hub.log_scalars
    for key in ('cam.loss_cls', 'cam.loss_rcm', 'cam.loss_mam'):
        values = torch.as_tensor(logged[f'train/{key}'].data[0])
        assert len(values) == 2 and torch.isfinite(values).all(), key
    # the memory filled during training
    assert runner.model.rcm_head.memory.filled.any()
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100
