# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""DeepLabV2Head: four dilated 3x3 branches straight to class scores,
summed."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_wsss.models.heads import aspp_sum


def _head(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='DeepLabV2Head',
        in_channels=2,
        num_classes=3,
        loss_decode=dict(type='CrossEntropyLoss'))
    return MODELS.build({**cfg, **kwargs})


def test_head_is_four_dilated_branches_without_conv_seg():
    head = _head()
    assert [conv.dilation for conv in head.aspp] == [(6, 6), (12, 12),
                                                     (18, 18), (24, 24)]
    for conv in head.aspp:
        assert conv.padding == conv.dilation
        assert conv.kernel_size == (3, 3)
        assert (conv.in_channels, conv.out_channels) == (2, 3)
        assert conv.bias is not None
    assert not hasattr(head, 'conv_seg')
    # DeepLab-v2's initialisation: N(0, 0.01) weights, zero biases
    head = _head(in_channels=64)
    head.init_weights()
    weights = torch.cat([conv.weight.flatten() for conv in head.aspp])
    assert abs(weights.std().item() - 0.01) < 0.001
    assert all((conv.bias == 0).all() for conv in head.aspp)


def test_forward_is_the_sum_of_the_dilated_convolutions():
    head = _head(dilations=(1, 2, 3, 4))
    torch.manual_seed(0)
    x = torch.randn(2, 2, 9, 9)
    expected = torch.zeros(2, 3, 9, 9)
    for k, conv in enumerate(head.aspp):
        weight = torch.randn(3, 2, 3, 3)
        bias = torch.tensor([1., -2., 0.5]) * (k + 1)
        conv.weight.data.copy_(weight)
        conv.bias.data.copy_(bias)
        expected += F.conv2d(x, weight, bias, padding=k + 1, dilation=k + 1)
    out = head([x])
    assert out.shape == (2, 3, 9, 9)
    torch.testing.assert_close(out, expected)


def test_aspp_sum_on_hand_values():
    # a 1x1 input with two 1x1 "branches": 2 * 3 + 1 and 2 * (-1) + 0
    x = torch.tensor([[[[2.]]]])
    branches = [torch.nn.Conv2d(1, 1, 1), torch.nn.Conv2d(1, 1, 1)]
    for conv, w, b in zip(branches, (3., -1.), (1., 0.)):
        conv.weight.data.fill_(w)
        conv.bias.data.fill_(b)
    assert aspp_sum(x, branches).item() == 5.


def test_head_has_no_dropout():
    with pytest.raises(ValueError, match='no dropout'):
        _head(dropout_ratio=0.1)


def test_head_counts_classes_as_mmseg_decode_heads():
    # background included, as NumClassCheckHook expects of every decode head
    from mmseg_wsss.engine.hooks.num_class_check_hook import \
        class_count_mismatches
    head = _head(num_classes=21)
    assert class_count_mismatches(head, 21) == []
    assert class_count_mismatches(head, 81) == [('model.num_classes', 21, 81)]
