# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_wsss.models.losses import mam_targets, multiscale_attentive_loss


def _cams(dtype=torch.float32):
    """One main scale M and two support scales U1, U2; 2 images, 2 classes.

    Maps are 4x4, described by their flattened pixels p = 0..15.
    """
    main = torch.zeros(2, 2, 16, dtype=dtype)
    main[0, 0, :8] = 2  # image 0, class 0
    # image 0, class 1 stays zero (an absent class)
    main[1, 0, :8] = 1
    main[1, 1] = 1
    sup2 = torch.zeros(2, 2, 16, dtype=dtype)
    sup2[0, 0, 8:] = 1  # disjoint from M: cos 0
    sup2[1, 0, 4:12] = 1  # overlap 4 of 8 pixels: cos 4 / (V8 V8) = 0.5
    sup2[1, 1] = 3  # parallel to M: cos 1
    main, sup2 = main.view(2, 2, 4, 4), sup2.view(2, 2, 4, 4)
    return main, [main.clone(), sup2]


# Targets T = (w1 U1 + w2 U2) / 2 with U1 = M (w1 = 1 wherever M != 0):
# image 0 class 0: w2 = 2, T = 1 on all 16 pixels, |T - M| sums to 16;
# image 0 class 1: all zero, 0;
# image 1 class 0: w2 = 1.5, T = 0.5 (p 0-3), 1.25 (p 4-7), 0.75 (p 8-11),
#   0 (p 12-15); |T - M| = 4 * 0.5 + 4 * 0.25 + 4 * 0.75 = 6;
# image 1 class 1: w2 = 1, T = (1 + 3) / 2 = 2, |T - M| sums to 16.
# Mean over 2 * 2 * 16 = 64 values: 38 / 64.
EXPECTED = 38 / 64
# An all-zero main scale: every cos is 0, w = 2, T = U1 + U2; the mean of
# U1 + U2 is (40 + 64) / 64.
EXPECTED_ZERO_MAIN = 104 / 64


def test_mam_targets_hand_values():
    main, supports = _cams()
    (target, ) = mam_targets([main], supports)
    assert torch.equal(target[0, 0], torch.ones(4, 4))
    assert torch.equal(target[0, 1], torch.zeros(4, 4))
    expected = torch.tensor([0.5, 1.25, 0.75, 0.]).repeat_interleave(4)
    assert torch.allclose(target[1, 0].flatten(), expected)
    assert torch.allclose(target[1, 1], torch.full((4, 4), 2.))


def test_mam_targets_weighted_mean_hand_values():
    # T = (w1 U1 + w2 U2) / (w1 + w2), weights as above (w1 = 1 where M != 0)
    main, supports = _cams()
    (target, ) = mam_targets([main], supports, target_norm='weight_sum')
    # image 0 class 0: (1 * 2 on p 0-7 + 2 * 1 on p 8-15) / 3
    assert torch.allclose(target[0, 0], torch.full((4, 4), 2 / 3))
    assert torch.equal(target[0, 1], torch.zeros(4, 4))
    # image 1 class 0: (M + 1.5 U2) / 2.5
    expected = torch.tensor([0.4, 1.0, 0.6, 0.]).repeat_interleave(4)
    assert torch.allclose(target[1, 0].flatten(), expected)
    # image 1 class 1: (1 + 3) / 2
    assert torch.allclose(target[1, 1], torch.full((4, 4), 2.))
    with pytest.raises(ValueError, match='target_norm must be one of'):
        mam_targets([main], supports, target_norm='mean')


def test_multiscale_attentive_loss_hand_values():
    main, supports = _cams()
    loss = multiscale_attentive_loss([main], supports)
    assert loss.item() == pytest.approx(EXPECTED)
    # Losses of the main scales add up; a zero map gives cos 0, not NaN.
    zero = torch.zeros_like(main)
    loss = multiscale_attentive_loss([main, zero], supports)
    assert loss.item() == pytest.approx(EXPECTED + EXPECTED_ZERO_MAIN)


def test_mam_targets_are_detached():
    main, supports = _cams()
    main.requires_grad_(True)
    supports = [s.requires_grad_(True) for s in supports]
    targets = mam_targets([main], supports)
    assert not targets[0].requires_grad
    multiscale_attentive_loss([main], supports).backward()
    assert all(s.grad is None for s in supports)
    # With fixed targets the L1 gradient is -sign(T - M) / 64.
    expected = -torch.sign(targets[0] - main.detach()) / 64
    assert torch.equal(main.grad, expected)


def test_multiscale_attentive_loss_gradcheck():
    gen = torch.Generator().manual_seed(0)
    mains = [
        torch.rand(2, 2, 4, 4, generator=gen, dtype=torch.float64)
        for _ in range(2)
    ]
    supports = [
        torch.rand(2, 2, 4, 4, generator=gen, dtype=torch.float64)
        for _ in range(3)
    ]
    targets = mam_targets(mains, supports)

    def fixed_target_loss(*cams):
        return sum((t - m).abs().mean() for t, m in zip(targets, cams))

    # The weights w come from the detached M_s, so a numerical derivative
    # of the loss itself would also move the targets; gradcheck the loss
    # with the targets held fixed, then require the same analytic gradient.
    mains = [m.requires_grad_(True) for m in mains]
    assert torch.autograd.gradcheck(fixed_target_loss, tuple(mains))
    expected = torch.autograd.grad(fixed_target_loss(*mains), mains)
    actual = torch.autograd.grad(
        multiscale_attentive_loss(mains, supports), mains)
    for got, want in zip(actual, expected):
        assert torch.allclose(got, want)


def test_multiscale_attentive_loss_bf16_autocast():
    main, supports = _cams(torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = multiscale_attentive_loss([main], supports)
        (target, ) = mam_targets([main], supports)
    assert loss.dtype == torch.float32 and target.dtype == torch.float32
    assert loss.item() == pytest.approx(EXPECTED)


def test_multiscale_attentive_loss_shape_errors():
    main, supports = _cams()
    with pytest.raises(ValueError, match='at least one map'):
        multiscale_attentive_loss([main], [])
    with pytest.raises(ValueError, match='every map in support_cams'):
        mam_targets([main], [supports[0][:, :1]])
    with pytest.raises(ValueError, match='every map in main_cams'):
        multiscale_attentive_loss([main, main[0]], supports)


def test_multiscale_attentive_loss_module():
    init_default_scope('mmseg')
    main, supports = _cams()
    loss_fn = MODELS.build(dict(type='MultiScaleAttentiveLoss', loss_weight=2))
    assert loss_fn.loss_name == 'loss_mam'
    assert loss_fn([main], supports).item() == pytest.approx(2 * EXPECTED)
    renamed = MODELS.build(
        dict(type='MultiScaleAttentiveLoss', loss_name='loss_scales'))
    assert renamed.loss_name == 'loss_scales'
