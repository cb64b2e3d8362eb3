# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_wsss.models.losses import multilabel_soft_margin_loss

LN3 = math.log(3)


def _inputs():
    logits = torch.tensor([[0., LN3], [-LN3, 0.]])
    labels = torch.tensor([[1., 0.], [0., 1.]])
    return logits, labels


# Image 0: -log s(0) = ln 2 (class 0, y=1); -log s(-ln 3) = ln 4 (class 1,
# y=0); mean over classes 1.5 ln 2. Image 1: -log s(ln 3) = ln(4/3) (class 0,
# y=0); ln 2 (class 1, y=1); mean 0.5 ln(8/3).
PER_IMAGE = [1.5 * math.log(2), 0.5 * math.log(8 / 3)]


def test_multilabel_soft_margin_loss_hand_values():
    logits, labels = _inputs()
    none = multilabel_soft_margin_loss(logits, labels, reduction='none')
    assert torch.allclose(none, torch.tensor(PER_IMAGE))
    mean = multilabel_soft_margin_loss(logits, labels)
    assert mean.item() == pytest.approx(sum(PER_IMAGE) / 2)
    total = multilabel_soft_margin_loss(logits, labels, reduction='sum')
    assert total.item() == pytest.approx(sum(PER_IMAGE))


def test_multilabel_soft_margin_loss_gradient():
    logits, labels = _inputs()
    logits.requires_grad_(True)
    multilabel_soft_margin_loss(logits, labels).backward()
    # d/dx of the mean over N=2 images and C=2 classes: (s(x) - y) / 4.
    expected = (torch.sigmoid(logits.detach()) - labels) / 4
    assert torch.allclose(logits.grad, expected)


def test_multilabel_soft_margin_loss_shape_error():
    logits, labels = _inputs()
    with pytest.raises(ValueError, match='same shape'):
        multilabel_soft_margin_loss(logits, labels[:, :1])
    with pytest.raises(ValueError, match=r'shape \(N, C\)'):
        multilabel_soft_margin_loss(logits[0], labels[0])


def test_multilabel_soft_margin_loss_bf16_autocast():
    logits, labels = _inputs()
    half = logits.bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = multilabel_soft_margin_loss(half, labels)
    assert loss.dtype == torch.float32
    reference = multilabel_soft_margin_loss(half.float(), labels)
    assert torch.equal(loss, reference)


def test_multilabel_soft_margin_loss_module():
    init_default_scope('mmseg')
    logits, labels = _inputs()
    loss_fn = MODELS.build(
        dict(type='MultiLabelSoftMarginLoss', loss_weight=2.0))
    assert loss_fn.loss_name == 'loss_cls'
    assert loss_fn(logits, labels).item() == pytest.approx(sum(PER_IMAGE))
    renamed = MODELS.build(
        dict(type='MultiLabelSoftMarginLoss', loss_name='loss_img'))
    assert renamed.loss_name == 'loss_img'
