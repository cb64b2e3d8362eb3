# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
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
    (N, 1, h, w); their sigmoid is the boundary map.
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
        init_cfg: OptMultiConfig = dict(type='Kaiming', layer='Conv2d')
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(in_index) or not in_index:
            raise ValueError(
                'BoundaryHead needs one in_channels entry per in_index '
                f'entry, got in_channels={in_channels}, in_index={in_index}')
        self.in_channels = tuple(in_channels)
        self.in_index = tuple(in_index)
        self.channels = channels
        self.level_convs = nn.ModuleList(
            ConvModule(c, channels, 1, norm_cfg=norm_cfg) for c in in_channels)
        self.boundary_conv = nn.Conv2d(channels * len(in_channels), 1, 1)
        losses = loss_decode if isinstance(loss_decode,
                                           (list, tuple)) else [loss_decode]
        self.loss_decode = nn.ModuleList(MODELS.build(c) for c in losses)

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
