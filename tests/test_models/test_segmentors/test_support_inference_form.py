# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""SupportNet in inference form (folded, channels-last) vs as it is.

The VOC method config's own network (ResNet-50 MainNet and SupportNet, the
RCM and MAM heads as configured), random weights with BatchNorm statistics
far from the identity, at a smaller crop to stay fast: the self-supervision
must be the same up to float rounding.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

import mmseg_wsss  # noqa: F401

CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', 'wsss',
    'rcm_mam_r50_voc.py')
CROP = 64


def _randomize_bn(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))


@pytest.fixture(scope='module')
def voc_method():
    """The VOC method model after one EMA step, and a batch of two."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (CROP, CROP)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    _randomize_bn(model)
    model.update_support()
    with torch.no_grad():
        # SupportNet one EMA step away from MainNet, as in training
        for p in model.cam_head.parameters():
            p.mul_(1.5)
        model.update_support()
    model.train()
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randn(2, 3, CROP, CROP, generator=gen)
    samples = []
    for labels in ([0, 14], [14]):
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(CROP, CROP),
                ori_shape=(CROP, CROP),
                padding_size=(0, 0, 0, 0)))
        vec = torch.zeros(20)
        vec[labels] = 1
        sample.set_data(dict(img_labels=vec))
        samples.append(sample)
    return model, inputs, samples


def _both_forms(model):
    fast = copy.deepcopy(model)
    plain = copy.deepcopy(model)
    plain.train_cfg.support_inference_form = False
    assert fast.train_cfg.support_inference_form
    return fast, plain


def test_inference_form_keeps_the_region_masks_and_losses(voc_method):
    model, inputs, samples = voc_method
    fast, plain = _both_forms(model)
    state_fast = fast.self_sup_state(inputs, samples)
    state_plain = plain.self_sup_state(inputs, samples)
    for a, b in zip(state_fast['support'].cams, state_plain['support'].cams):
        assert b.abs().max() > 0
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * b.max())
    target, ref = state_fast['rcm'].target, state_plain['rcm'].target
    assert (ref != 255).any() and (ref > 0).any()
    assert (target == ref).float().mean() >= 0.995
    losses_fast = fast.loss(inputs, samples)
    losses_plain = plain.loss(inputs, samples)
    for key in ('cam.loss_rcm', 'cam.loss_mam'):
        assert losses_plain[key] > 0
        torch.testing.assert_close(
            losses_fast[key], losses_plain[key], rtol=1e-4, atol=0)
    # unit prototypes; a pixel on a threshold may move one a little
    torch.testing.assert_close(
        fast.rcm_head.memory.bank,
        plain.rcm_head.memory.bank,
        rtol=0,
        atol=1e-3)


def test_inference_form_follows_every_change_of_support_net(voc_method):
    model, inputs, _ = voc_method
    model = copy.deepcopy(model)
    x = inputs[:1]

    def check():
        with torch.no_grad():
            ref = model.support_cams(x)[0]
            out = model.support_cams(x, model.support_inference_net())[0]
        # a deep random ResNet-50: the float error is relative to its scale
        torch.testing.assert_close(
            out, ref, rtol=1e-3, atol=1e-4 * float(ref.abs().max()))
        return ref

    first = check()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.mul_(0.9)
    model.update_support()  # an EMA step
    second = check()
    assert not torch.allclose(first, second)
    other = copy.deepcopy(model)
    _randomize_bn(other.support, seed=5)
    model.load_state_dict(other.state_dict())  # a loaded checkpoint
    assert not torch.allclose(check(), second)


def test_the_inference_form_is_no_part_of_the_model(voc_method):
    model, _, _ = voc_method
    model = copy.deepcopy(model)
    keys = set(model.state_dict())
    params = sum(1 for _ in model.parameters())
    net = model.support_inference_net()
    assert set(model.state_dict()) == keys
    assert sum(1 for _ in model.parameters()) == params
    assert not any(p.requires_grad for p in net.parameters())
    # no BatchNorm left in SupportNet's backbone; channels-last weights
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in net['backbone'].modules())
    assert net['backbone'].stem[0].weight.is_contiguous(
        memory_format=torch.channels_last)
    assert model.support_inference_net() is net
