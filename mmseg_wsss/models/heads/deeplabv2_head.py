# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import List, Sequence

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor, nn


def aspp_sum(x: Tensor, branches: Sequence[nn.Conv2d]) -> Tensor:
    """Sum of the branches' outputs on the same input.

    Args:
        x (Tensor): Features (N, C_in, H, W).
        branches (Sequence[nn.Conv2d]): Convolutions keeping H x W.

    Returns:
        Tensor: ``sum(branch(x) for branch in branches)``, (N, C_out, H, W).
    """
    return torch.stack([branch(x) for branch in branches]).sum(dim=0)


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """DeepLab-v2's ASPP (Chen et al., TPAMI 2018): class scores as the sum
    of parallel 3x3 convolutions at several dilations.

    Each branch maps the backbone feature straight to class scores (3x3
    conv with bias, padding = dilation); the outputs are summed. No BN, no
    ReLU, no 1x1 or image-pooling branch, no ``conv_seg``. mmseg's
    ``ASPPHead`` is DeepLab-v3's (1x1 and pooling branches, BN + ReLU,
    concatenation, a bottleneck, then ``conv_seg``), so the second stage of
    the WSSS papers (kazuto1011/deeplab-pytorch's ``DeepLabV2``) needs this
    head. Initialised as there: weights N(0, 0.01), biases 0.

    ``forward()``: ``_transform_inputs()`` -> every branch -> sum.

    Args:
        in_channels (int): Channels of the backbone feature (2048 for
            ResNet-101).
        dilations (Sequence[int]): Dilation of each branch. Defaults to
            (6, 12, 18, 24).
        dropout_ratio (float): Not used (DeepLab-v2 has no dropout); must be
            0. Defaults to 0.
        **kwargs: Other arguments of ``BaseDecodeHead`` (``num_classes``,
            ``loss_decode``, ``in_index``, ``align_corners``...).
            ``channels`` is not used and defaults to ``in_channels``.
    """

    def __init__(self,
                 in_channels: int,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 dropout_ratio: float = 0.,
                 init_cfg=dict(
                     type='Normal', std=0.01, bias=0, layer='Conv2d'),
                 **kwargs):
        if dropout_ratio:
            raise ValueError('DeepLabV2Head has no dropout; got '
                             f'dropout_ratio={dropout_ratio}')
        kwargs.setdefault('channels', in_channels)
        super().__init__(
            in_channels, dropout_ratio=0., init_cfg=init_cfg, **kwargs)
        # the branches produce the class scores themselves
        del self.conv_seg
        self.dilations = tuple(dilations)
        self.aspp = nn.ModuleList(
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                3,
                padding=dilation,
                dilation=dilation) for dilation in self.dilations)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Class scores (N, num_classes, H, W) of the selected level."""
        return aspp_sum(self._transform_inputs(inputs), self.aspp)
