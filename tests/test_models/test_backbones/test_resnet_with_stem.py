# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401

# IRN's strides (output stride 16), torchvision layout, an eighth of the
# width of a ResNet-18
TINY = dict(
    depth=18,
    base_channels=8,
    strides=(1, 2, 2, 1),
    dilations=(1, 1, 1, 1),
    style='pytorch',
    init_cfg=None)


def test_levels_are_the_stem_then_resnets_stages():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    # (mmseg's ResNet.train() returns None: eval() is not chained)
    ours = MODELS.build(dict(type='ResNetWithStem', **TINY))
    plain = MODELS.build(dict(type='ResNet', out_indices=(0, 1, 2, 3), **TINY))
    plain.load_state_dict(ours.state_dict())
    ours.eval()
    plain.eval()
    x = torch.randn(1, 3, 50, 67)
    with torch.no_grad():
        levels = ours(x)
        stages = plain(x)
        stem = ours.maxpool(ours.relu(ours.norm1(ours.conv1(x))))
    # IRN's five levels at strides 4, 4, 8, 16, 16
    assert [tuple(t.shape[-2:]) for t in levels] == [(13, 17), (13, 17),
                                                     (7, 9), (4, 5), (4, 5)]
    assert levels[0].shape[1] == 64  # the stem's channels
    assert torch.equal(levels[0], stem)
    for level, stage in zip(levels[1:], stages):
        assert torch.equal(level, stage)
    picked = MODELS.build(
        dict(type='ResNetWithStem', out_indices=(0, 4), **TINY))
    picked.load_state_dict(ours.state_dict())
    picked.eval()
    with torch.no_grad():
        first, last = picked(x)
    assert torch.equal(first, levels[0]) and torch.equal(last, levels[4])
    with pytest.raises(ValueError, match='0 the stem'):
        MODELS.build(dict(type='ResNetWithStem', out_indices=(5, ), **TINY))
