# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_wsss.models.losses import affinity_loss
from mmseg_wsss.models.utils import (affinity_from_boundary,
                                     relation_pair_labels)


def _head(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='BoundaryHead',
        in_channels=(8, 16, 32),
        in_index=(0, 1, 2),
        channels=8,
        loss_decode=dict(type='AffinityLoss', radius=3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _levels(n=2):
    # strides 4, 8, 16 of a 32 x 48 image
    return [
        torch.rand(n, 8, 8, 12),
        torch.rand(n, 16, 4, 6),
        torch.rand(n, 32, 2, 3)
    ]


def _sample(labels):
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=labels[None])
    sample.set_metainfo(dict(img_path='a.jpg'))
    return sample


def test_boundary_head_output_at_first_level_size():
    head = _head()
    logits = head(_levels())
    assert logits.shape == (2, 1, 8, 12)
    # the first backbone output may be skipped
    head = _head(in_channels=(16, 32), in_index=(1, 2))
    assert head(_levels()).shape == (2, 1, 4, 6)


def test_boundary_head_loss_on_labels_downscaled_at_block_centres():
    torch.manual_seed(0)
    head = _head()
    levels = _levels(n=1)
    # full-resolution labels 32 x 48; each 4 x 4 block is sampled at its
    # pixel (2, 2), so the label there is what the stride-4 map sees
    full = torch.full((32, 48), 255, dtype=torch.long)
    coarse = torch.randint(0, 3, (8, 12))
    coarse[0, :4] = 255
    full[2::4, 2::4] = coarse
    losses = head.loss(levels, [_sample(full)])
    assert set(losses) == {'loss_aff'}
    boundary = head(levels).sigmoid()
    expected = affinity_loss(
        affinity_from_boundary(boundary, 3),
        *relation_pair_labels(coarse[None], 3, sources='inner'))
    assert torch.isclose(losses['loss_aff'], expected)
    losses['loss_aff'].backward()
    assert head.boundary_conv.weight.grad.abs().sum() > 0


def test_boundary_head_errors():
    with pytest.raises(ValueError, match='one in_channels entry'):
        _head(in_channels=(8, 16))
    head = _head()
    sample = SegDataSample()
    sample.set_metainfo(dict(img_path='x/no_labels.jpg'))
    with pytest.raises(KeyError, match='no_labels.jpg has no relation'):
        head.loss(_levels(n=1), [sample])


def test_irn_layout_upsamples_by_factors_and_crops():
    torch.manual_seed(0)
    head = _head(
        in_channels=(4, 8, 16, 32, 64),
        in_index=(0, 1, 2, 3, 4),
        channels=8,
        scale_factors=(1, 1, 2, 4, 4))
    # IRN's five levels of a 50 x 67 image: strides 4, 4, 8, 16, 16
    levels = [
        torch.rand(1, 4, 13, 17),
        torch.rand(1, 8, 13, 17),
        torch.rand(1, 16, 7, 9),
        torch.rand(1, 32, 4, 5),
        torch.rand(1, 64, 4, 5)
    ]
    # each level: conv, norm, upsampling by its factor, then ReLU
    third = head.level_convs[2]
    assert [type(m).__name__
            for m in third] == ['Conv2d', 'GroupNorm', 'Upsample', 'ReLU']
    assert third[0].bias is None and third[2].scale_factor == 2
    assert len(head.level_convs[0]) == 3  # no upsampling at stride 4
    # upsampled 14 x 18 (x2) and 16 x 20 (x4), cropped at the top left
    expected = head.boundary_conv(
        torch.cat([
            conv(x)[..., :13, :17] for conv, x in zip(head.level_convs, levels)
        ],
                  dim=1))
    assert torch.equal(head(levels), expected)
    assert expected.shape == (1, 1, 13, 17)


def test_irn_layout_on_resnet50_has_irns_edge_branch_size():
    # IRN's edge branch (net/resnet50_irn.py fc_edge1-6) has 125,409
    # parameters (counted on the official code): 5 x 32 = 160 channels -> 1
    head = _head(
        in_channels=(64, 256, 512, 1024, 2048),
        in_index=(0, 1, 2, 3, 4),
        channels=32,
        scale_factors=(1, 1, 2, 4, 4))
    assert head.boundary_conv.in_channels == 160
    assert head.boundary_conv.bias is not None
    assert sum(p.numel() for p in head.parameters()) == 125409
    with pytest.raises(ValueError, match='scale_factors'):
        _head(scale_factors=(1, 2))
