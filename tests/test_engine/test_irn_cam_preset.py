# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""IRN's and ReCAM's CAM recipes (configs/irn/cam_r50-tv_voc.py,
configs/recam/*_r50-tv_voc.py): torchvision weights through the config's
own init_cfg, IRN's strides, frozen parts and BatchNorm, the optimizer, and
the toy versions trained and tested by real Runners."""
import logging
import os.path as osp

import pytest
import torch
import torchvision
from log_capture import current_log_records
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS
from tiny_cam_net import labelled_batch
from torch.nn.modules.batchnorm import _BatchNorm

import mmseg_wsss  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO_ROOT, 'configs')
IRN_CAM = osp.join(CONFIGS, 'irn', 'cam_r50-tv_voc.py')
RECAM = osp.join(CONFIGS, 'recam', 'recam_r50-tv_voc.py')
TOY = osp.join(CONFIGS, 'toy', '{}_r18-tv-tiny_1xb8-300it_toyvoc-64x64.py')
FROZEN_BY_IRN = ('backbone.conv1.', 'backbone.bn1.', 'backbone.layer1.',
                 'backbone.layer2.')


def test_torchvision_weights_load_by_name_and_match_its_forward(tmp_path):
    """A torchvision resnet50 state dict (random weights, BN statistics
    drawn) loads through the config's own init_cfg, and the backbone, in
    training mode, computes torchvision's eval-mode forward with layer 4 at
    stride 1."""
    torch.manual_seed(0)
    tv = torchvision.models.resnet50()
    with torch.no_grad():
        for m in tv.modules():
            if isinstance(m, _BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.0)
                m.bias.normal_(0, 0.1)
    path = str(tmp_path / 'resnet50.pth')
    torch.save(tv.state_dict(), path)

    cfg = Config.fromfile(IRN_CAM).model.backbone
    assert cfg.init_cfg == dict(
        type='Pretrained', checkpoint='torchvision://resnet50')
    cfg.init_cfg.checkpoint = path
    init_default_scope('mmseg')
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    ours = backbone.state_dict()
    theirs = {k: v for k, v in tv.state_dict().items() if k[:3] != 'fc.'}
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key

    tv.layer4[0].conv2.stride = (1, 1)
    tv.layer4[0].downsample[0].stride = (1, 1)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        tv.eval()
        expected = tv.layer4(
            tv.layer3(
                tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(
                    tv.conv1(x))))))))
        backbone.train()
        out = backbone(x)
    assert len(out) == 1 and out[0].shape == (2, 2048, 4, 4)  # stride 16
    torch.testing.assert_close(out[0], expected, rtol=1e-4, atol=1e-4)


def _model(path):
    """The config's segmentor without the weights file."""
    cfg = Config.fromfile(path)
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(cfg.model, backbone=dict(cfg.model.backbone, init_cfg=None)))
    model.init_weights()
    return cfg, model


@pytest.mark.parametrize(
    'path, frozen, lrs', [
        (IRN_CAM, FROZEN_BY_IRN, {
            'backbone': 0.1,
            'cam_head': 1.0
        }),
        (RECAM, FROZEN_BY_IRN[:2], {
            'backbone': 5e-5,
            'cam_head': 5e-5,
            'recam_head': 5e-4
        }),
    ],
    ids=['irn', 'recam'])
def test_frozen_parts_bn_statistics_and_optimizer(path, frozen, lrs):
    """Training mode: BN normalises with running statistics everywhere and
    keeps them; the frozen parts get no gradient and no param group; BN
    affine weights of the trained stages get gradients; lrs, momentum 1e-4
    and weight decay 1e-4 as the authors ran them."""
    cfg, model = _model(path)
    model.train()
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))
    stats = {
        k: v.clone()
        for k, v in model.state_dict().items() if 'running_' in k
    }
    params = dict(model.named_parameters())
    for name, param in params.items():
        assert param.requires_grad != name.startswith(frozen), name

    inputs, samples = labelled_batch([[1.] + [0.] * 19, [0.] * 19 + [1.]],
                                     size=64)
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for name, param in params.items():
        if name.startswith(frozen):
            assert param.grad is None, name
    # (mmseg's init zeroes each block's last BN weight, so the BN before it
    # gets no gradient yet)
    for name in ('backbone.layer3.0.bn3.weight',
                 'backbone.layer3.0.downsample.1.bias',
                 'backbone.layer4.2.bn3.weight'):
        assert params[name].grad.abs().sum() > 0, name
    for key, value in model.state_dict().items():
        if key in stats:
            assert torch.equal(value, stats[key]), key

    with current_log_records() as records:
        optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert not [r for r in records if r.levelno >= logging.WARNING]
    group = {id(p): g for g in optimizer.param_groups for p in g['params']}
    assert set(group) == {id(p) for p in params.values() if p.requires_grad}
    for name, param in params.items():
        if param.requires_grad:
            g = group[id(param)]
            assert g['lr'] == pytest.approx(lrs[name.split('.')[0]]), name
            assert g['momentum'] == 1e-4 and g['weight_decay'] == 1e-4


class _Snapshot(Hook):
    """Keeps the model's state as training starts (weights initialised)."""

    def before_train(self, runner):
        self.state = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }


def _toy_cfg(name, data_root, work_dir, iters=2, **options):
    """The toy config ``name``, ``iters`` iterations of batch 4 on
    ``data_root``, tested on 2 images at scales 1.0 and 0.5 + flip."""
    cfg = Config.fromfile(TOY.format(name))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.test_dataloader.dataset.indices = 2
    cfg.model.test_cfg.scales = (1.0, 0.5)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return cfg


def test_toy_irn_cam_and_recam_train_and_test(toy_voc, tmp_path):
    """The toy IRN CAM network trains its unfrozen part only and tests; the
    toy ReCAM fine-tunes its checkpoint (the toy stage-1a networks share
    their keys) and logs the predictor's accuracy."""
    runner = Runner.from_cfg(_toy_cfg('cam', toy_voc, tmp_path / 'cam'))
    snapshot = _Snapshot()
    runner.register_hook(snapshot)
    runner.train()
    after = runner.model.state_dict()
    changed = {
        k
        for k, v in snapshot.state.items() if not torch.equal(after[k], v)
    }
    assert not [
        k for k in changed if k.startswith(FROZEN_BY_IRN) or 'running_' in k
    ]
    for part in ('backbone.layer3.', 'backbone.layer4.', 'cam_head.'):
        assert any(k.startswith(part) for k in changed), part
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100

    runner = Runner.from_cfg(
        _toy_cfg(
            'recam',
            toy_voc,
            tmp_path / 'recam',
            load_from=str(tmp_path / 'cam' / 'iter_2.pth')))
    runner.train()
    assert runner.model.recam_head.predictor.weight.shape == (20, 128, 1, 1)
    acc = runner.message_hub.log_scalars['train/cam.acc_recam'].data[0]
    assert len(acc) == 2 and all(0 <= a <= 1 for a in acc)
