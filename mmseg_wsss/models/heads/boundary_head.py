# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig, SampleList
from torch import Tensor


@MODELS.register_module()
class BoundaryHead(BaseModule):
    """Class boundary map from multi-level backbone features (IRN's edge
    branch).

    ``forward()``: each backbone level in ``in_index`` -> 1x1 conv + norm +
    ReLU to ``channels`` -> bilinear resize to the first level's size
    (stride 4 for a ResNet) -> concatenation -> 1x1 conv -> boundary logits
    (N, 1, h, w); their sigmoid is the boundary map. With
    ``scale_factors``, IRN's layout (``jiwoon-ahn/irn: net/resnet50_irn.py``,
    ``fc_edge1`` .. ``fc_edge6``): each level 1x1 conv (no bias) -> norm ->
    bilinear upsampling by its integer factor -> ReLU, cropped at the top
    left to the first level's size; on ResNet-50's five levels (stem and
    stages, :class:`ResNetWithStem`) 5 x 32 = 160 channels -> 1.
    ``loss()``: ``forward()`` -> sigmoid -> ``loss_decode`` (e.g.
    :class:`AffinityLoss`) against the relation labels, i.e. the samples'
    ``gt_sem_seg`` (0 background, 1..C classes, 255 ignored) downscaled to
    (h, w) by nearest neighbour.

    Args:
        in_channels (Sequence[int]): Channels of the used levels.
        in_index (Sequence[int]): Which backbone outputs to use; the first
            sets the output size. Defaults to (0, 1, 2, 3).
        channels (int): Width of each level after its 1x1 conv.
            Defaults to 32.
        norm_cfg (dict): Norm layer of the level convs. Defaults to
            ``dict(type='GN', num_groups=4)`` (IRN's).
        scale_factors (Sequence[int], optional): IRN's layout: each level's
            upsampling factor to the first level's stride (IRN's ResNet-50
            levels at strides 4, 4, 8, 16, 16: ``(1, 1, 2, 4, 4)``); a level
            then reaches at least the first's size for any input (a
            stride-2 conv gives ceil(h / 2)) and is cropped to it. Defaults
            to None (a resize to the first level's size).
        loss_decode (dict | list[dict]): Loss config(s), each called as
            ``loss(boundary, labels)``. Defaults to
            ``dict(type='AffinityLoss', radius=10)``.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_index: Sequence[int] = (0, 1, 2, 3),
        channels: int = 32,
        norm_cfg: ConfigType = dict(type='GN', num_groups=4),
        loss_decode: ConfigType = dict(type='AffinityLoss', radius=10),
        scale_factors: Optional[Sequence[int]] = None,
        init_cfg: OptMultiConfig = dict(type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(in_index) or not in_index:
            raise ValueError(
                'BoundaryHead needs one in_channels entry per in_index '
                f'entry, got in_channels={in_channels}, in_index={in_index}')
        if scale_factors is not None and (len(scale_factors) != len(in_index)
                                          or any(
                                              not isinstance(f, int) or f < 1
                                              for f in scale_factors)):
            raise ValueError(
                'BoundaryHead: scale_factors must be one int >= 1 per '
                f'in_index entry, got {scale_factors} for {in_index}')
        self.in_channels = tuple(in_channels)
        self.in_index = tuple(in_index)
        self.channels = channels
        self.scale_factors = scale_factors and tuple(scale_factors)
        if self.scale_factors is None:
            self.level_convs = nn.ModuleList(
                ConvModule(c, channels, 1, norm_cfg=norm_cfg)
                for c in in_channels)
        else:
            self.level_convs = nn.ModuleList(
                self._irn_level(c, channels, norm_cfg, f)
                for c, f in zip(in_channels, self.scale_factors))
        self.boundary_conv = nn.Conv2d(channels * len(in_channels), 1, 1)
        losses = loss_decode if isinstance(loss_decode,
                                           (list, tuple)) else [loss_decode]
        self.loss_decode = nn.ModuleList(MODELS.build(c) for c in losses)

    @staticmethod
    def _irn_level(in_channels: int, channels: int, norm_cfg: ConfigType,
                   factor: int) -> nn.Sequential:
        """IRN's level: conv -> norm -> upsampling -> ReLU (mmcv's
        ``ConvModule`` puts its activation right after the norm)."""
        layers = [
            nn.Conv2d(in_channels, channels, 1, bias=False),
            build_norm_layer(norm_cfg, channels)[1]
        ]
        if factor > 1:
            layers.append(
                nn.Upsample(
                    scale_factor=factor, mode='bilinear', align_corners=False))
        layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Boundary logits of the backbone outputs.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs; the one at
                ``in_index[k]`` has shape (N, in_channels[k], h_k, w_k).

        Returns:
            Tensor: Boundary logits (N, 1, h, w) at the size of the first
            used level.
        """
        size = inputs[self.in_index[0]].shape[-2:]
        if self.scale_factors is not None:
            levels = [
                conv(inputs[i])[..., :size[0], :size[1]]
                for i, conv in zip(self.in_index, self.level_convs)
            ]
            return self.boundary_conv(torch.cat(levels, dim=1))
        levels = [
            resize(
                conv(inputs[i]),
                size=size,
                mode='bilinear',
                align_corners=False)
            for i, conv in zip(self.in_index, self.level_convs)
        ]
        return self.boundary_conv(torch.cat(levels, dim=1))

    def loss_by_feat(self, logits: Tensor,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of boundary logits (N, 1, h, w) against relation labels.

        Raises:
            KeyError: A sample has no ``gt_sem_seg``; the message names its
                image.
        """
        labels = []
        for sample in batch_data_samples:
            if 'gt_sem_seg' not in sample:
                raise KeyError(
                    f'image {sample.metainfo.get("img_path", "?")} has no '
                    'relation labels: load them as gt_sem_seg with '
                    "LoadAnnotations and the dataset's seg_map_path")
            labels.append(sample.gt_sem_seg.data)
        labels = torch.stack(labels).to(logits.device)
        # 'nearest-exact' samples each block near its centre, where the
        # coarse feature sits; 'nearest' would take its top-left pixel
        labels = F.interpolate(
            labels.float(), size=logits.shape[-2:],
            mode='nearest-exact')[:, 0].long()
        boundary = logits.sigmoid()
        return {
            loss.loss_name: loss(boundary, labels)
            for loss in self.loss_decode
        }

    def loss(self, inputs: Sequence[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Forward and compute the losses."""
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)
