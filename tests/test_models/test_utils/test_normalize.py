# Copyright (c) mmseg-wsss contributors. All rights reserved.
import torch
import torch.nn.functional as F

from mmseg_wsss.models.utils import l2_normalize


def test_hand_values_and_zero_vectors():
    # two pixels of 2-channel features: (3, 4) and (0, 0)
    x = torch.tensor([[[[3.0, 0.0]], [[4.0, 0.0]]]])
    out = l2_normalize(x, dim=1)
    assert torch.equal(out[0, :, 0, 0], torch.tensor([0.6, 0.8]))
    assert torch.equal(out[0, :, 0, 1], torch.zeros(2))


def test_matches_torch_normalize_in_value_and_gradient():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 3, 4, generator=gen, dtype=torch.float64)
    x[1, :, 0, 0] = 0  # a zero vector: finite gradient in both
    x.requires_grad_(True)
    weights = torch.randn(2, 5, 3, 4, generator=gen, dtype=torch.float64)
    ours = l2_normalize(x, dim=1)
    (grad, ) = torch.autograd.grad((ours * weights).sum(), x)
    ref = F.normalize(x, dim=1)
    (ref_grad, ) = torch.autograd.grad((ref * weights).sum(), x)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-9)
    assert torch.autograd.gradcheck(lambda t: l2_normalize(t, dim=1),
                                    (x.detach()[:1].requires_grad_(), ))
