# Copyright (c) mmseg-wsss contributors. All rights reserved.
import copy

import pytest
import torch
from mmcv.cnn import ConvModule
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from tiny_cam_net import BACKBONE
from torch import nn

from mmseg_wsss.models.utils import FoldedCopy, conv_bn_pairs


def _randomize(module, seed=0):
    """BatchNorm statistics and affine terms far from the identity, so that
    folding them wrongly shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen))
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen))


def _backbone():
    init_default_scope('mmseg')
    net = MODELS.build(BACKBONE)
    net.init_weights()
    _randomize(net)
    net.eval()  # mmseg's ResNet.train() returns None
    return net


def _run(net, x):
    return net(x)[-1]


def _images(seed=1):
    return torch.randn(
        2, 3, 40, 56, generator=torch.Generator().manual_seed(seed))


def test_the_copy_folds_every_bn_and_matches_the_network():
    net = _backbone()
    before = copy.deepcopy(net.state_dict())
    folded = FoldedCopy(net, _run)
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in folded.module.modules())
    assert len(conv_bn_pairs(net)) == sum(
        isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert folded.module.stem[0].weight.is_contiguous(
        memory_format=torch.channels_last)
    assert not any(p.requires_grad for p in folded.module.parameters())
    x = _images()
    with torch.no_grad():
        torch.testing.assert_close(
            _run(folded.module, x), _run(net, x), rtol=1e-4, atol=1e-4)
    # the network itself is left as it was
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_refresh_follows_weights_changed_in_place():
    net = _backbone()
    folded = FoldedCopy(net, _run)
    x = _images()
    with torch.no_grad():
        stale = _run(folded.module, x)
        # what an EMA step does: new values in the same tensors
        other = _backbone()
        _randomize(other, seed=3)
        for p, q in zip(net.parameters(), other.parameters()):
            p.lerp_(q, 0.5)
        for b, c in zip(net.buffers(), other.buffers()):
            if b.is_floating_point():
                b.lerp_(c, 0.5)
        expected = _run(net, x)
        assert not torch.allclose(stale, expected, rtol=1e-3, atol=1e-3)
        refreshed = folded.refresh()
        assert refreshed is folded.module
        torch.testing.assert_close(
            _run(refreshed, x), expected, rtol=1e-4, atol=1e-4)


class PreNorm(nn.Module):
    """A conv whose BN normalises its *input*: registered conv first, so
    the folding rule would fold the BN into the conv's output."""

    def __init__(self, out_channels=3):
        super().__init__()
        self.block = ConvModule(
            3,
            out_channels,
            1,
            norm_cfg=dict(type='BN'),
            order=('norm', 'conv', 'act'))

    def forward(self, x):
        return self.block(x)


def test_a_bn_that_does_not_follow_its_conv_is_kept_with_a_warning():
    net = PreNorm()
    _randomize(net)
    net.eval()
    assert conv_bn_pairs(net) == [('block.conv', 'block.bn')]
    with pytest.warns(UserWarning, match='keeps its BN'):
        folded = FoldedCopy(net, lambda m, x: m(x))
    assert isinstance(folded.module.block.bn, nn.BatchNorm2d)
    x = _images()
    with torch.no_grad():
        net.block.bn.running_mean.add_(0.5)
        torch.testing.assert_close(folded.refresh()(x), net(x))


def test_a_bn_of_another_width_than_its_conv_is_not_paired():
    net = PreNorm(out_channels=4)
    _randomize(net)
    net.eval()
    assert conv_bn_pairs(net) == []
    folded = FoldedCopy(net, lambda m, x: m(x))
    x = _images()
    with torch.no_grad():
        torch.testing.assert_close(folded.refresh()(x), net(x))
