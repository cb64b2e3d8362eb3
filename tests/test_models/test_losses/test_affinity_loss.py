# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_wsss.models.losses import AffinityLoss, affinity_loss
from mmseg_wsss.models.utils import (affinity_from_boundary,
                                     relation_pair_labels)

EPS = 1e-5


def _crafted():
    """The 2 x 3 label map of the pair-label test, radius 2, and one
    affinity per direction: 0.5, 0.25, 0.8, 0.1."""
    labels = torch.tensor([[[0, 0, 1], [255, 1, 1]]])
    per_offset = torch.tensor([0.5, 0.25, 0.8, 0.1], dtype=torch.float64)
    affinities = per_offset.view(1, 4, 1, 1).expand(1, 4, 2, 3).clone()
    return labels, affinities


def test_affinity_loss_by_hand():
    labels, affinities = _crafted()
    pairs = relation_pair_labels(labels, radius=2)
    loss = affinity_loss(affinities, *pairs, eps=EPS)
    # background positives: one pair of direction (0, 1)
    bg = -math.log(0.5 + EPS)
    # foreground positives: directions (0, 1), (1, -1), (1, 0)
    fg = -(math.log(0.5 + EPS) + math.log(0.25 + EPS) +
           math.log(0.8 + EPS)) / 3
    # negatives: directions (0, 1), (1, 0), (1, 1), (1, 1)
    neg = -(math.log(1 + EPS - 0.5) + math.log(1 + EPS - 0.8) +
            2 * math.log(1 + EPS - 0.1)) / 4
    assert loss.item() == pytest.approx(bg / 2 + fg / 2 + neg, rel=1e-12)


def test_affinity_loss_balances_bg_and_fg_positives():
    # 3 background positive pairs and 1 foreground positive pair weigh the
    # same: the loss is the average of the two kinds' mean terms
    labels = torch.tensor([[[0, 0, 0, 0, 255, 1, 1]]])
    affinities = torch.full((1, 4, 1, 7), 0.5, dtype=torch.float64)
    affinities[0, 0, 0, 5] = 0.9
    pairs = relation_pair_labels(labels, radius=2)
    assert pairs[0].sum() == 3 and pairs[1].sum() == 1
    loss = affinity_loss(affinities, *pairs, eps=EPS)
    expected = -math.log(0.5 + EPS) / 2 - math.log(0.9 + EPS) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_affinity_loss_without_pairs_is_zero_not_nan():
    boundary = torch.rand(2, 1, 4, 4, requires_grad=True)
    affinities = affinity_from_boundary(boundary, radius=3)
    empty = torch.full((2, 4, 4), 255)
    loss = affinity_loss(affinities, *relation_pair_labels(empty, 3))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(boundary.grad, torch.zeros_like(boundary))
    # only background: the foreground and negative terms are 0
    only_bg = torch.zeros(2, 4, 4, dtype=torch.long)
    pairs = relation_pair_labels(only_bg, 3)
    loss = affinity_loss(affinities, *pairs)
    pos = -torch.log(affinities + EPS)
    assert torch.isclose(loss, pos[pairs[0]].mean() / 2)
    # zero-sized batch
    none = torch.zeros(0, 4, 4, 4)
    mask = torch.zeros(0, 4, 4, 4, dtype=torch.bool)
    assert affinity_loss(none, mask, mask, mask).item() == 0.0


def test_affinity_loss_is_finite_at_0_and_1():
    labels = torch.tensor([[[0, 0, 1]]])
    per_offset = torch.tensor([0.0, 1.0, 0.0, 0.0])
    affinities = per_offset.view(1, 4, 1, 1).expand(1, 4, 1, 3)
    loss = affinity_loss(affinities, *relation_pair_labels(labels, 2))
    assert torch.isfinite(loss)


def test_affinity_loss_rejects_mismatched_masks():
    aff = torch.rand(1, 4, 2, 2)
    good = torch.zeros(1, 4, 2, 2, dtype=torch.bool)
    with pytest.raises(ValueError, match='neg must be a bool mask'):
        affinity_loss(aff, good, good, good.float())


def test_affinity_loss_module_weight_name_and_checks():
    init_default_scope('mmseg')
    loss_fn = MODELS.build(
        dict(type='AffinityLoss', radius=2, loss_weight=0.5))
    assert loss_fn.loss_name == 'loss_aff'
    labels, _ = _crafted()
    boundary = torch.rand(1, 1, 2, 3, dtype=torch.float64)
    # IRN's pairs by default: sources whose whole radius fits the map
    expected = affinity_loss(
        affinity_from_boundary(boundary, 2),
        *relation_pair_labels(labels, 2, sources='inner'))
    assert torch.isclose(loss_fn(boundary, labels), 0.5 * expected)
    every_pixel = MODELS.build(
        dict(type='AffinityLoss', radius=2, pair_sources='all'))
    expected = affinity_loss(
        affinity_from_boundary(boundary, 2), *relation_pair_labels(labels, 2))
    assert torch.isclose(every_pixel(boundary, labels), expected)
    with pytest.raises(ValueError, match='do not match'):
        loss_fn(boundary, labels[:, :1])
    with pytest.raises(ValueError, match='radius'):
        MODELS.build(dict(type='AffinityLoss', radius=1))
    with pytest.raises(ValueError, match='sources'):
        MODELS.build(dict(type='AffinityLoss', pair_sources='edge'))


def test_affinity_loss_equals_irns_training_loss():
    # golden value: IRN's boundary terms of step/train_irn.py ((bg / 2 +
    # fg / 2 + neg) / 2 over PathIndex(4, (12, 15)) pairs, to_affinity of
    # net/resnet50_irn.py; run outside this repository) on this map
    ys, xs = torch.meshgrid(torch.arange(12), torch.arange(15), indexing='ij')
    labels = torch.zeros(12, 15, dtype=torch.long)
    labels[3:9, 4:11] = 1
    labels[6:, 9:] = 2
    labels[(ys * 15 + xs) % 5 == 0] = 255
    boundary = ((ys * 15 + xs) % 7 / 7.0).double()[None, None]
    bg_pos, fg_pos, neg = relation_pair_labels(
        labels[None], 4, sources='inner')
    assert (bg_pos.sum(), fg_pos.sum(), neg.sum()) == (318, 318, 462)
    loss = AffinityLoss(radius=4, loss_weight=0.5)(boundary, labels[None])
    assert abs(loss.item() - 0.9640565750646197) < 1e-6
