# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_wsss.models.losses import (PrototypeMemory, class_prototypes,
                                      leave_one_out_prototypes,
                                      regional_contrastive_loss,
                                      resize_label_map)

E0, E1, E2 = torch.eye(3)
SQRT2 = math.sqrt(2)


def _prototype_inputs():
    """Two 4x4 images, D = 3, C = 2 (K = 3 with background)."""
    feats = torch.zeros(2, 3, 4, 4)
    mask = torch.zeros(2, 4, 4, dtype=torch.long)
    # Image 0: rows 0-1 feature e0, rows 2-3 feature e1.
    feats[0, :, :2] = E0[:, None, None]
    feats[0, :, 2:] = E1[:, None, None]
    mask[0, 1, 2:] = 255
    mask[0, 2:] = 1
    mask[0, 3, 3] = 0
    # Image 1: row 0 background with e0, rows 1-3 class 2 with (e1 + e2)/V2.
    feats[1, :, :1] = E0[:, None, None]
    feats[1, :, 1:] = ((E1 + E2) / SQRT2)[:, None, None]
    mask[1, 1:] = 2
    return feats, mask


def test_resize_label_map():
    mask = torch.arange(32).view(2, 4, 4)
    # Nearest 4 -> 2 samples source rows/columns floor(i * 2) = 0, 2.
    assert torch.equal(resize_label_map(mask, (2, 2)), mask[:, ::2, ::2])
    same = resize_label_map(mask.to(torch.uint8), (4, 4))
    assert same.dtype == torch.long and torch.equal(same, mask)


def test_class_prototypes_hand_values():
    feats, mask = _prototype_inputs()
    protos, valid = class_prototypes(feats, mask, num_classes=2)
    # Image 0 background: row 0 (4 x e0), row 1 cols 0-1 (2 x e0; cols 2-3
    # are ignored), pixel (3, 3) (1 x e1): sum (6, 1, 0), norm sqrt(37).
    # Class 1: 7 pixels of e1 -> e1. Class 2: no pixel -> zero, invalid.
    # Image 1: background 4 x e0 -> e0; class 1 absent; class 2 is
    # 12 x (e1 + e2)/V2 -> (0, 1, 1)/V2.
    expected = torch.stack([
        torch.stack(
            [torch.tensor([6., 1., 0.]) / math.sqrt(37), E1,
             torch.zeros(3)]),
        torch.stack([E0, torch.zeros(3), (E1 + E2) / SQRT2]),
    ])
    assert torch.allclose(protos, expected)
    assert valid.tolist() == [[True, True, False], [True, False, True]]


def test_class_prototypes_resizes_mask_to_features():
    feats, mask = _prototype_inputs()
    # A 2x upsampled mask resizes back (nearest) to exactly the 4x4 mask.
    big = mask.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
    protos, valid = class_prototypes(feats, big, num_classes=2)
    ref_protos, ref_valid = class_prototypes(feats, mask, num_classes=2)
    assert torch.equal(protos, ref_protos) and torch.equal(valid, ref_valid)
    with pytest.raises(ValueError, match='class_prototypes.*mask'):
        class_prototypes(feats, mask[:1], num_classes=2)


def test_leave_one_out_class_in_one_image_is_zero():
    feats, mask = _prototype_inputs()
    protos, valid = class_prototypes(feats, mask, num_classes=2)
    loo = leave_one_out_prototypes(protos, valid)
    # Image 0 sees image 1 only: e0, nothing for class 1 (only image 0 has
    # it), (e1 + e2)/V2. Image 1 sees image 0: (6, 1, 0)/V37, e1, nothing.
    expected = torch.stack([
        torch.stack([E0, torch.zeros(3), (E1 + E2) / SQRT2]),
        torch.stack(
            [torch.tensor([6., 1., 0.]) / math.sqrt(37), E1,
             torch.zeros(3)]),
    ])
    assert torch.allclose(loo, expected)


def test_leave_one_out_normalised_mean_of_others():
    e0, e1 = torch.eye(2)
    protos = torch.stack([e0, e1, e0])[:, None]  # (3, K=1, D=2)
    valid = torch.ones(3, 1, dtype=torch.bool)
    loo = leave_one_out_prototypes(protos, valid)
    # Image 0: mean(e1, e0) -> (1, 1)/V2; image 1: mean(e0, e0) -> e0;
    # image 2: (1, 1)/V2.
    diag = torch.tensor([1., 1.]) / SQRT2
    assert torch.allclose(loo[:, 0], torch.stack([diag, e0, diag]))
    # Without image 2: image 0 -> e1, image 1 -> e0, image 2 -> (1, 1)/V2.
    valid[2] = False
    loo = leave_one_out_prototypes(protos, valid)
    assert torch.allclose(loo[:, 0], torch.stack([e1, e0, diag]))


def test_leave_one_out_needs_two_images():
    protos = torch.ones(1, 3, 2)
    valid = torch.ones(1, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match='batch >= 2'):
        leave_one_out_prototypes(protos, valid)
    with pytest.raises(ValueError, match='valid of shape'):
        leave_one_out_prototypes(torch.ones(2, 3, 2), valid)


def test_prototype_memory_fifo():
    e0, e1 = torch.eye(2)
    diag = (e0 + e1) / SQRT2
    memory = PrototypeMemory(num_classes=1, dim=2, size=2)
    assert set(memory.state_dict()) == {'bank', 'filled', 'ptr'}
    # Image 0: class 0 = e0; image 1: class 0 = e1, class 1 = diag. The
    # invalid class 1 of image 0 (a -5 vector) must not be pushed.
    protos = torch.stack([torch.stack([e0, -5 * e1]),
                          torch.stack([e1, diag])]).requires_grad_(True)
    valid = torch.tensor([[True, False], [True, True]])
    memory.update(protos, valid)
    assert not memory.bank.requires_grad
    assert torch.equal(memory.bank[0], torch.stack([e0, e1]))
    assert memory.filled.tolist() == [[True, True], [True, False]]
    assert torch.equal(memory.bank[1, 0], diag)
    assert memory.ptr.tolist() == [0, 1]
    # Class 0 is full: -e0 overwrites the oldest entry (e0), not e1.
    memory.update(torch.stack([-e0, e1])[None], torch.tensor([[True, False]]))
    assert torch.equal(memory.bank[0], torch.stack([-e0, e1]))
    assert memory.ptr.tolist() == [1, 1]
    with pytest.raises(ValueError, match='PrototypeMemory.update'):
        memory.update(torch.zeros(1, 3, 2), torch.ones(1, 3).bool())
    with pytest.raises(ValueError, match='size >= 1'):
        PrototypeMemory(num_classes=1, dim=2, size=0)


def test_leave_one_out_with_memory():
    e0, e1 = torch.eye(2)
    diag = (e0 + e1) / SQRT2
    memory = PrototypeMemory(num_classes=1, dim=2, size=2)
    # Memory: class 0 holds {-e0, e1}, class 1 holds {diag}.
    memory.update(
        torch.stack([torch.stack([-e0, diag]),
                     torch.stack([e1, e0])]),
        torch.tensor([[True, True], [True, False]]))
    protos = torch.stack([torch.stack([e0, e1]), torch.stack([e1, e1])])
    valid = torch.tensor([[True, False], [False, False]])
    loo = leave_one_out_prototypes(protos, valid, memory=memory)
    # Image 0, class 0: no other image; memory -e0 + e1 -> (-1, 1)/V2.
    # Image 1, class 0: e0 (image 0) - e0 + e1 -> e1.
    # Class 1: no valid batch prototype; memory diag for both images.
    expected = torch.stack(
        [torch.stack([(e1 - e0) / SQRT2, diag]),
         torch.stack([e1, diag])])
    assert torch.allclose(loo, expected)
    wrong = PrototypeMemory(num_classes=2, dim=2)
    with pytest.raises(ValueError, match='memory holds'):
        leave_one_out_prototypes(protos, valid, memory=wrong)


def _loss_inputs():
    """Two 4x4 images, D = 2, prototypes [e0, e1, 0] for both images."""
    e0, e1 = torch.eye(2)
    feats = torch.zeros(2, 2, 4, 4)
    feats[0] = e0[:, None, None]
    feats[1] = 3 * e1[:, None, None]  # normalised inside the loss
    protos = torch.stack([e0, e1, torch.zeros(2)]).expand(2, 3, 2)
    target = torch.ones(2, 4, 4, dtype=torch.long)
    target[0, :2] = 0  # 8 pixels of class 0
    target[0, 3, :2] = 255  # 2 ignored; 4 class-1 pixels remain in row 2
    target[0, 3, 2:] = 2  # 2 pixels of the prototype-less class 2
    return feats, protos, target


# tau = 0.5: a pixel with feature e0 has logits (2, 0, 0), one with e1 has
# (0, 2, 0). Own class with logit 2: A = log(1 + 2 e^-2); target with logit 0
# while another class has 2: B = log(e^2 + 2). Image 0: 8 A + 4 B (class 1)
# + 2 B (class 2); image 1: 16 A. Over 30 valid pixels.
A = math.log(1 + 2 * math.exp(-2))
B = math.log(math.exp(2) + 2)
EXPECTED = (24 * A + 6 * B) / 30
# mask_absent: class 2 leaves the softmax and its 2 pixels are ignored:
# A' = log(1 + e^-2), B' = log(e^2 + 1), over 28 pixels.
EXPECTED_MASKED = (24 * math.log(1 + math.exp(-2)) +
                   4 * math.log(math.exp(2) + 1)) / 28


def test_regional_contrastive_loss_hand_values():
    feats, protos, target = _loss_inputs()
    loss = regional_contrastive_loss(feats, protos, target, tau=0.5)
    assert loss.item() == pytest.approx(EXPECTED)
    masked = regional_contrastive_loss(
        feats, protos, target, tau=0.5, mask_absent=True)
    assert masked.item() == pytest.approx(EXPECTED_MASKED)


def test_regional_contrastive_loss_resizes_target():
    feats, protos, target = _loss_inputs()
    small = feats[:, :, ::2, ::2]
    loss = regional_contrastive_loss(small, protos, target)
    reference = regional_contrastive_loss(small, protos, target[:, ::2, ::2])
    # Sampled target: image 0 rows 0 and 2 -> 2 class-0 and 2 class-1
    # pixels; image 1: 4 class-1 pixels: (6 A + 2 B) / 8.
    assert loss.item() == pytest.approx((6 * A + 2 * B) / 8)
    assert torch.equal(loss, reference)


def test_regional_contrastive_loss_empty_target_is_zero():
    feats, protos, target = _loss_inputs()
    feats.requires_grad_(True)
    ignored = torch.full_like(target, 255)
    loss = regional_contrastive_loss(feats, protos, ignored)
    loss.backward()
    assert loss.item() == 0
    assert torch.equal(feats.grad, torch.zeros_like(feats))
    # mask_absent with no prototype at all: every pixel is ignored and the
    # fill value must not turn into NaN in the gradient.
    feats.grad = None
    loss = regional_contrastive_loss(
        feats, torch.zeros_like(protos), target, mask_absent=True)
    loss.backward()
    assert loss.item() == 0
    assert torch.equal(feats.grad, torch.zeros_like(feats))


def test_regional_contrastive_loss_zero_prototypes_uniform():
    feats, protos, target = _loss_inputs()
    feats.requires_grad_(True)
    # All logits 0 -> every valid pixel costs log 3.
    loss = regional_contrastive_loss(feats, torch.zeros_like(protos), target)
    loss.backward()
    assert loss.item() == pytest.approx(math.log(3))
    assert torch.isfinite(feats.grad).all()


@pytest.mark.parametrize('mask_absent', [False, True])
def test_regional_contrastive_loss_gradcheck(mask_absent):
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 3, 4, 4, generator=gen, dtype=torch.float64)
    protos = torch.nn.functional.normalize(
        torch.randn(2, 3, 3, generator=gen, dtype=torch.float64), dim=2)
    protos[0, 2] = 0  # an absent class
    target = torch.randint(0, 3, (2, 4, 4), generator=gen)
    target[:, 0] = 255
    feats.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda f: regional_contrastive_loss(
            f, protos, target, tau=0.5, mask_absent=mask_absent), (feats, ))


def test_regional_contrastive_loss_no_grad_to_support():
    gen = torch.Generator().manual_seed(0)
    support = torch.rand(2, 3, 4, 4, generator=gen).requires_grad_(True)
    main = torch.rand(2, 3, 4, 4, generator=gen).requires_grad_(True)
    mask = torch.tensor([0, 1, 2, 255]).repeat(2, 4, 1)
    unit = torch.nn.functional.normalize(support, dim=1)
    protos, valid = class_prototypes(unit, mask, num_classes=2)
    loo = leave_one_out_prototypes(protos, valid)
    regional_contrastive_loss(main, loo, mask).backward()
    assert support.grad is None
    assert main.grad is not None and main.grad.abs().sum() > 0


def test_regional_contrastive_loss_bf16_autocast():
    feats, protos, target = _loss_inputs()
    feats = feats + 0.1  # make the cosines less round
    reference = regional_contrastive_loss(feats, protos, target)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = regional_contrastive_loss(feats, protos, target)
        half = regional_contrastive_loss(feats.bfloat16(), protos, target)
    # The math runs in float32 even though autocast would lower einsum.
    assert loss.dtype == torch.float32 and half.dtype == torch.float32
    assert torch.equal(loss, reference)
    assert half.item() == pytest.approx(reference.item(), rel=1e-2)


def test_regional_contrastive_loss_shape_errors():
    feats, protos, target = _loss_inputs()
    with pytest.raises(ValueError, match='protos of shape'):
        regional_contrastive_loss(feats, protos[..., :1], target)
    with pytest.raises(ValueError, match='target of shape'):
        regional_contrastive_loss(feats, protos, target[:1])


def test_regional_contrastive_loss_module():
    init_default_scope('mmseg')
    feats, protos, target = _loss_inputs()
    loss_fn = MODELS.build(
        dict(type='RegionalContrastiveLoss', loss_weight=0.5))
    assert loss_fn.loss_name == 'loss_rcm'
    assert loss_fn(feats, protos,
                   target).item() == pytest.approx(0.5 * EXPECTED)
    masked = MODELS.build(
        dict(
            type='RegionalContrastiveLoss',
            mask_absent_prototypes=True,
            loss_name='loss_region'))
    assert masked.loss_name == 'loss_region'
    assert masked(feats, protos,
                  target).item() == pytest.approx(EXPECTED_MASKED)
    with pytest.raises(ValueError, match='tau > 0'):
        MODELS.build(dict(type='RegionalContrastiveLoss', tau=0))
