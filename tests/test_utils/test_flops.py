# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
from torch import nn

from mmseg_wsss.utils.flops import count_flops, flop_efficiency


def test_count_flops_conv_forward_and_backward():
    # one 3x3 conv, 3 -> 4 channels, 2 images of 8x8 ('same' padding):
    # 2 FLOPs per multiply-add, Cin * k * k of them per output value
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    forward = 2 * 3 * 4 * 3 * 3 * 8 * 8 * 2
    assert forward == 27648
    flops, out = count_flops(conv, x)
    assert flops == forward
    assert out.shape == (2, 4, 8, 8)
    # the backward of a conv: input and weight gradients, one conv each
    flops, _ = count_flops(lambda: conv(x).sum().backward())
    assert flops == 3 * forward
    # no gradient for the input: only the weight gradient is computed
    flops, _ = count_flops(lambda: conv(x.detach()).sum().backward())
    assert flops == 2 * forward


def test_count_flops_linear_and_nested_calls():
    linear = nn.Linear(5, 7)
    x = torch.randn(3, 5)

    def gram():
        y = linear(x)
        return y @ y.t()

    flops, out = count_flops(lambda: gram().trace())
    # x @ W^T: 3x5 by 5x7; y @ y^T: 3x7 by 7x3 (the bias add counts 0)
    assert flops == 2 * (3 * 5 * 7 + 3 * 7 * 3)
    assert out.ndim == 0


def test_flop_efficiency():
    # 7.9x the time for 5.63x the FLOPs: 7.9 / 5.63 per baseline FLOP rate
    assert flop_efficiency(15.8, 2.0, 1299.5e9,
                           230.9e9) == pytest.approx(7.9 / (1299.5 / 230.9))
    assert flop_efficiency(4.0, 2.0, 20.0, 10.0) == 1.0
