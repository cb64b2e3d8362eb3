# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.models.utils import (pair_offsets, random_walk,
                                     transition_matrix)


def _dense_transition(affinities, radius, beta):
    """D^-1 A of one image, built pixel by pixel."""
    _, _, h, w = affinities.shape
    a = torch.eye(h * w, dtype=affinities.dtype)
    for p, (dy, dx) in enumerate(pair_offsets(radius).tolist()):
        for y in range(h):
            for x in range(w):
                if y + dy < h and 0 <= x + dx < w:
                    i, j = y * w + x, (y + dy) * w + x + dx
                    a[i, j] = a[j, i] = affinities[0, p, y, x]**beta
    return a / a.sum(dim=1, keepdim=True)


@pytest.mark.parametrize('exp_times', [0, 1, 3])
def test_random_walk_matches_dense_matrix_power(exp_times):
    torch.manual_seed(0)
    radius, beta = 2, 3.0
    affinities = torch.rand(2, 4, 3, 4, dtype=torch.float64)
    x = torch.rand(2, 3, 3, 4, dtype=torch.float64)
    out = random_walk(x, affinities, radius, beta, exp_times)
    for n in range(2):
        trans = _dense_transition(affinities[n:n + 1], radius, beta)
        power = torch.linalg.matrix_power(trans, 2**exp_times)
        expected = (power @ x[n].reshape(3, 12).T).T.reshape(3, 3, 4)
        assert torch.allclose(out[n], expected)


def test_transition_matrix_rows_sum_to_one_and_match_dense():
    torch.manual_seed(1)
    affinities = torch.rand(1, 12, 4, 5, dtype=torch.float64)
    matrix = transition_matrix(affinities, radius=3, beta=2.0)
    dense = matrix.to_dense()
    assert torch.allclose(dense.sum(dim=1), torch.ones(20, dtype=dense.dtype))
    assert torch.allclose(dense, _dense_transition(affinities, 3, 2.0))


def test_random_walk_keeps_a_constant_map():
    affinities = torch.rand(1, 34, 6, 7)
    x = torch.full((1, 2, 6, 7), 0.5)
    assert torch.allclose(random_walk(x, affinities, 5, 10.0, 4), x)


def test_random_walk_isolated_pixels_keep_their_scores():
    # zero affinities leave only the self-loops
    x = torch.rand(1, 2, 3, 3)
    out = random_walk(x, torch.zeros(1, 4, 3, 3), 2, 10.0, 3)
    assert torch.equal(out, x)


def test_random_walk_argument_checks():
    x = torch.rand(1, 1, 3, 3)
    with pytest.raises(ValueError, match='exp_times'):
        random_walk(x, torch.rand(1, 4, 3, 3), 2, 10.0, -1)
    with pytest.raises(ValueError, match='beta'):
        random_walk(x, torch.rand(1, 4, 3, 3), 2, 0.0, 1)
    with pytest.raises(ValueError, match=r'\(N, 4, h, w\)'):
        random_walk(x, torch.rand(1, 5, 3, 3), 2, 10.0, 1)
    with pytest.raises(ValueError, match='share'):
        random_walk(x, torch.rand(1, 4, 3, 4), 2, 10.0, 1)
