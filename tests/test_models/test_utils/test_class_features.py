# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.models.utils import class_specific_features


def _naive(cams, feats, eps=1e-5):
    """The per-class product of ReCAM's description, loop by loop."""
    n, c = cams.shape[:2]
    out = torch.zeros(n, c, feats.shape[1], dtype=torch.float64)
    for i in range(n):
        for k in range(c):
            a = cams[i, k].double().clamp(min=0)
            a = a / (a.max() + eps)
            out[i, k] = (a[None] * feats[i].double()).mean(dim=(1, 2))
    return out


def test_einsum_equals_the_naive_per_class_product():
    gen = torch.Generator().manual_seed(0)
    cams = torch.randn(2, 3, 5, 4, generator=gen)
    feats = torch.rand(2, 6, 5, 4, generator=gen)
    got = class_specific_features(cams, feats)
    assert got.shape == (2, 3, 6)
    torch.testing.assert_close(got.double(), _naive(cams, feats))


def test_hand_values_mean_over_all_pixels():
    # one class whose map peaks at 2 on one of 4 pixels: A = (1, .5, 0, 0)
    cams = torch.tensor([[[[2., 1.], [0., -3.]]]])
    feats = torch.tensor([[[[4., 8.], [100., 100.]]]])
    got = class_specific_features(cams, feats, eps=0.0)
    # (1 * 4 + 0.5 * 8) / 4 pixels, not / sum(A)
    assert got.item() == pytest.approx(2.0)


def test_an_all_negative_map_gives_a_zero_vector_and_gradients_flow():
    cams = torch.full((1, 2, 3, 3), -1.0)
    cams[0, 1] = torch.arange(9.).view(3, 3)
    cams.requires_grad_(True)
    feats = torch.rand(1, 4, 3, 3, requires_grad=True)
    out = class_specific_features(cams, feats)
    assert torch.equal(out[0, 0], torch.zeros(4))
    out.sum().backward()
    assert cams.grad.abs().sum() > 0 and feats.grad.abs().sum() > 0
    assert torch.isfinite(cams.grad).all()


def test_shapes_are_checked():
    with pytest.raises(ValueError, match='same N, h and w'):
        class_specific_features(
            torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 3, 2))
