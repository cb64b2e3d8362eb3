# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.models.utils import (affinity_from_boundary, pair_offsets,
                                     random_walk, relation_pair_labels,
                                     segment_pixels)


def test_pair_offsets_radius_2_by_hand():
    assert pair_offsets(2).tolist() == [[0, 1], [1, -1], [1, 0], [1, 1]]


@pytest.mark.parametrize('radius', [3, 5, 10])
def test_pair_offsets_one_direction_per_unordered_pair(radius):
    offsets = [tuple(o) for o in pair_offsets(radius).tolist()]
    assert len(set(offsets)) == len(offsets)
    assert not {(-dy, -dx) for dy, dx in offsets} & set(offsets)
    # every pair at distance < radius is listed in one of its directions
    within = {(dy, dx)
              for dy in range(-radius, radius + 1)
              for dx in range(-radius, radius + 1)
              if 0 < dy * dy + dx * dx < radius * radius}
    assert within == set(offsets) | {(-dy, -dx) for dy, dx in offsets}


def test_pair_offsets_rejects_radius_without_pairs():
    with pytest.raises(ValueError, match='radius'):
        pair_offsets(1)
    with pytest.raises(ValueError, match='radius'):
        pair_offsets(2.5)


def test_segment_pixels_by_hand():
    assert segment_pixels(0, 3) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert segment_pixels(2, 0) == [(0, 0), (1, 0), (2, 0)]
    # a diagonal step takes both pixels beside it
    assert segment_pixels(1, -1) == [(0, -1), (0, 0), (1, -1), (1, 0)]
    # (2, 4): |2x - 4y| < sqrt(20), i.e. |x - 2y| < 2.24, in the box
    # y 0..2, x 0..4
    assert segment_pixels(2, 4) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1),
                                    (1, 2), (1, 3), (1, 4), (2, 2), (2, 3),
                                    (2, 4)]
    with pytest.raises(ValueError, match='distinct'):
        segment_pixels(0, 0)


def test_affinity_from_boundary_row_by_hand():
    boundary = torch.tensor([[[[0.0, 0.2, 0.9, 0.1]]]])
    aff = affinity_from_boundary(boundary, radius=2)
    assert aff.shape == (1, 4, 1, 4)
    # offset (0, 1): 1 - max of both ends; the last pixel's partner is
    # outside the map (boundary 1), as are all partners one row down
    expected_right = torch.tensor([0.8, 0.1, 0.1, 0.0])
    assert torch.allclose(aff[0, 0, 0], expected_right)
    assert torch.equal(aff[0, 1:], torch.zeros(3, 1, 4))


def _brute_force_affinities(boundary, radius):
    """Loops over pixels and pairs: the definition, slowly."""
    _, _, h, w = boundary.shape
    rows = []
    for dy, dx in pair_offsets(radius).tolist():
        path = segment_pixels(dy, dx)
        plane = []
        for y in range(h):
            for x in range(w):
                if not (y + dy < h and 0 <= x + dx < w):
                    plane.append(boundary.new_zeros(()))
                    continue
                values = torch.stack(
                    [boundary[0, 0, y + sy, x + sx] for sy, sx in path])
                plane.append(1 - values.max())
        rows.append(torch.stack(plane).view(h, w))
    return torch.stack(rows)[None]


def test_affinity_from_boundary_values_and_gradients_match_definition():
    torch.manual_seed(0)
    boundary = torch.rand(1, 1, 5, 6, dtype=torch.float64)
    fast = boundary.clone().requires_grad_()
    slow = boundary.clone().requires_grad_()
    aff = affinity_from_boundary(fast, radius=3)
    ref = _brute_force_affinities(slow, radius=3)
    assert torch.allclose(aff, ref)
    weights = torch.rand_like(ref)
    (aff * weights).sum().backward()
    (ref * weights).sum().backward()
    assert torch.allclose(fast.grad, slow.grad)


def _wall_map(gap: bool) -> torch.Tensor:
    """A 9 x 9 boundary map with a vertical wall in column 4 (optionally
    with a 3-pixel gap in rows 3-5)."""
    boundary = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    boundary[..., 4] = 1.0
    if gap:
        boundary[..., 3:6, 4] = 0.0
    return boundary


def test_wall_gives_zero_affinity_across_it():
    radius = 3
    aff = affinity_from_boundary(_wall_map(gap=False), radius)
    offsets = pair_offsets(radius).tolist()
    for p, (dy, dx) in enumerate(offsets):
        for y in range(9 - dy):
            for x in range(9):
                if not 0 <= x + dx < 9:
                    continue
                crosses = min(x, x + dx) <= 4 <= max(x, x + dx)
                expected = 0.0 if crosses else 1.0
                assert aff[0, p, y, x] == expected, (dy, dx, y, x)


def test_wall_blocks_the_walk_and_a_gap_lets_it_through():
    radius, beta = 3, 10
    seed = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    seed[0, 0, :, 0] = 1.0  # scores on the left edge only
    walled = random_walk(
        seed,
        affinity_from_boundary(_wall_map(gap=False), radius),
        radius,
        beta,
        exp_times=6)
    open_ = random_walk(
        seed,
        affinity_from_boundary(_wall_map(gap=True), radius),
        radius,
        beta,
        exp_times=6)
    assert walled[..., :4].sum() > 0
    assert torch.equal(walled[..., 5:],
                       torch.zeros(1, 1, 9, 4, dtype=torch.float64))
    assert open_[..., 5:].min() > 1e-3


def test_relation_pair_labels_by_hand():
    labels = torch.tensor([[[0, 0, 1], [255, 1, 1]]])
    bg_pos, fg_pos, neg = relation_pair_labels(labels, radius=2)
    # offsets (0, 1), (1, -1), (1, 0), (1, 1); entry [p, y, x] pairs
    # (y, x) with (y, x) + offset_p
    expected_bg = torch.zeros(4, 2, 3, dtype=torch.bool)
    expected_bg[0, 0, 0] = True  # (0,0)-(0,1): 0 and 0
    expected_fg = torch.zeros(4, 2, 3, dtype=torch.bool)
    expected_fg[0, 1, 1] = True  # (1,1)-(1,2)
    expected_fg[1, 0, 2] = True  # (0,2)-(1,1)
    expected_fg[2, 0, 2] = True  # (0,2)-(1,2)
    expected_neg = torch.zeros(4, 2, 3, dtype=torch.bool)
    expected_neg[0, 0, 1] = True  # (0,1)-(0,2): 0 and 1
    expected_neg[2, 0, 1] = True  # (0,1)-(1,1)
    expected_neg[3, 0, 0] = True  # (0,0)-(1,1)
    expected_neg[3, 0, 1] = True  # (0,1)-(1,2)
    # (1,0) is ignored, so none of its pairs appears
    assert torch.equal(bg_pos[0], expected_bg)
    assert torch.equal(fg_pos[0], expected_fg)
    assert torch.equal(neg[0], expected_neg)


def test_relation_pair_labels_inner_sources_by_hand():
    # IRN's rule at radius 2 (m = 1) on the 2 x 3 map above: sources only
    # in rows [0, 1) and columns [1, 2), i.e. pixel (0, 1)
    labels = torch.tensor([[[0, 0, 1], [255, 1, 1]]])
    every = relation_pair_labels(labels, radius=2)
    inner = relation_pair_labels(labels, radius=2, sources='inner')
    source = torch.zeros(1, 4, 2, 3, dtype=torch.bool)
    source[:, :, 0, 1] = True
    for all_mask, inner_mask in zip(every, inner):
        assert torch.equal(inner_mask, all_mask & source)
    assert inner[2][0, :, 0, 1].tolist() == [True, False, True, True]
    with pytest.raises(ValueError, match="'all' or 'inner'"):
        relation_pair_labels(labels, radius=2, sources='centre')


@pytest.mark.parametrize('size, radius, sources, directions', [
    ((12, 15), 4, 81, 22),
    ((128, 128), 10, 13090, 152),
])
def test_inner_sources_are_irns_pairs(size, radius, sources, directions):
    # golden counts of IRN's misc/indexing.py PathIndex(radius, size) (run
    # outside this repository): its sources x directions; the sets of
    # (source, partner) pairs were found equal there too
    labels = torch.zeros((1, ) + size, dtype=torch.long)
    bg_pos, _, _ = relation_pair_labels(labels, radius, sources='inner')
    assert bg_pos.shape[1] == directions
    assert (bg_pos.flatten(2).sum(2) == sources).all()


def test_relation_pair_labels_different_classes_are_negative():
    labels = torch.tensor([[[1, 2]]])
    bg_pos, fg_pos, neg = relation_pair_labels(labels, radius=2)
    assert not bg_pos.any() and not fg_pos.any()
    assert neg.sum() == 1 and neg[0, 0, 0, 0]


def test_relation_pair_labels_rejects_float_maps():
    with pytest.raises(ValueError, match='integer label map'):
        relation_pair_labels(torch.zeros(1, 3, 3), radius=2)
