# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math

import pytest
import torch
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.losses import recam_accuracy, recam_sce_loss

# C = 2 classes; row k of an image holds the logits of feature f_k
LOGITS = torch.tensor([
    [[0., 0.], [5., -5.]],  # image 0: class 0 only -> CE log 2
    [[math.log(3.), 0.], [0., 0.]],  # image 1: both -> log(4/3), log 2
])
LABELS = torch.tensor([[1., 0.], [1., 1.]])


def test_hand_values_mean_over_classes_then_images():
    expected = (math.log(2) + (math.log(4 / 3) + math.log(2)) / 2) / 2
    assert recam_sce_loss(LOGITS, LABELS).item() == pytest.approx(expected)


def test_only_the_image_classes_enter():
    # image 0's row 1 (class 1, absent) has a huge loss: it must not count
    logits = LOGITS.clone()
    logits[0, 1] = torch.tensor([50., -50.])
    assert recam_sce_loss(logits, LABELS).item() == pytest.approx(
        recam_sce_loss(LOGITS, LABELS).item())


def test_an_image_without_labels_adds_zero_and_counts_in_the_batch():
    logits = torch.cat([LOGITS, torch.randn(1, 2, 2)])
    labels = torch.cat([LABELS, torch.zeros(1, 2)])
    expected = (math.log(2) + (math.log(4 / 3) + math.log(2)) / 2) / 3
    assert recam_sce_loss(logits, labels).item() == pytest.approx(expected)
    none = recam_sce_loss(torch.randn(2, 2, 2), torch.zeros(2, 2))
    assert none.item() == 0 and torch.isfinite(none)


def test_module_weight_name_and_shape_check():
    loss = MODELS.build(dict(type='ReCAMSCELoss', loss_weight=0.1))
    assert loss.loss_name == 'loss_sce'
    torch.testing.assert_close(
        loss(LOGITS, LABELS), 0.1 * recam_sce_loss(LOGITS, LABELS))
    with pytest.raises(ValueError, match=r'\(N, C, C\)'):
        loss(torch.zeros(2, 2, 3), LABELS)


def test_bf16_logits_give_a_float32_loss():
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = recam_sce_loss(LOGITS.bfloat16(), LABELS)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(
        recam_sce_loss(LOGITS, LABELS).item(), rel=1e-2)


def test_accuracy_over_the_image_class_pairs_by_hand():
    # image 0, class 0: logits (0, 0) -> argmax 0, a hit (ties go to the
    # first); image 1, class 0: (log 3, 0) -> 0, a hit; class 1: (0, 0) ->
    # 0, a miss; image 0's absent class 1 ((5, -5): a miss) does not count
    assert recam_accuracy(LOGITS, LABELS).item() == pytest.approx(2 / 3)
    logits = LOGITS.clone().requires_grad_()
    assert not recam_accuracy(logits, LABELS).requires_grad
    assert recam_accuracy(LOGITS, torch.zeros(2, 2)) is None
