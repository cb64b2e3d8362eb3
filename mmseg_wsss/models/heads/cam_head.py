# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig, SampleList
from torch import Tensor


@MODELS.register_module()
class CAMHead(BaseModule):
    """Class activation map head: pixel features, CAMs and image logits.

    ``forward()``: backbone feature -> 1x1 conv + ReLU -> pixel features ``f``
    (N, D, h, w) -> bias-free 1x1 conv -> CAMs ``A`` (N, C, h, w).
    ``loss()``: ``forward()`` -> global average pooling of ``A`` -> image
    logits (N, C) -> multi-label loss against ``img_labels``.

    The classifier has no bias so that a CAM is exactly the per-pixel
    contribution to its class logit (the logit is the CAM's spatial mean).
    The pixel features ``f`` double as the embedding of the regional
    contrastive loss (they are non-negative after the ReLU).

    With ``channels=None`` there is no feature layer: the classifier sits on
    the backbone feature itself, ``f`` is that feature and D = in_channels
    (IRN's and ReCAM's CAM network: 2048 -> C on ResNet-50's layer 4, whose
    output is non-negative too, being a ReLU's).

    Args:
        in_channels (int): Channels of the backbone feature used.
        channels (int, optional): Pixel feature dimension D of the 1x1 conv
            + ReLU feature layer; None for no feature layer (D =
            ``in_channels``). Defaults to 256.
        num_classes (int): Foreground classes C. Defaults to 20.
        in_index (int): Which backbone output to use. Defaults to -1.
        norm_cfg (dict, optional): Norm layer of the feature conv; None (the
            method's choice) means conv + bias + ReLU. Defaults to None.
        loss_cls (dict): Config of the image-level classification loss.
            Defaults to ``dict(type='MultiLabelSoftMarginLoss')``.
        init_cfg (dict | list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Optional[int] = 256,
                 num_classes: int = 20,
                 in_index: int = -1,
                 norm_cfg: ConfigType = None,
                 loss_cls: ConfigType = dict(
                     type='MultiLabelSoftMarginLoss', loss_weight=1.0),
                 init_cfg: OptMultiConfig = dict(
                     type='Kaiming',
                     layer='Conv2d',
                     mode='fan_in',
                     nonlinearity='relu')):
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'CAMHead: num_classes must be >= 1, got '
                             f'{num_classes}')
        self.in_channels = in_channels
        self.channels = in_channels if channels is None else channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.feat_conv = None if channels is None else ConvModule(
            in_channels,
            channels,
            1,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='ReLU'))
        self.classifier = nn.Conv2d(self.channels, num_classes, 1, bias=False)
        self.loss_cls = MODELS.build(loss_cls)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """Compute CAMs and pixel features.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs; the one at
                ``in_index`` has shape (N, in_channels, h, w).

        Returns:
            tuple[Tensor, Tensor]: Raw CAMs (N, C, h, w) and pixel features
            (N, D, h, w).
        """
        feats = inputs[self.in_index]
        if self.feat_conv is not None:
            feats = self.feat_conv(feats)
        return self.classifier(feats), feats

    @staticmethod
    def cam_logits(cams: Tensor) -> Tensor:
        """Image logits (N, C): global average pooling of CAMs (N, C, h, w)."""
        return cams.mean(dim=(2, 3))

    def loss_by_feat(self, cams: Tensor,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Classification loss of CAMs (N, C, h, w) against image labels."""
        labels = stack_img_labels(batch_data_samples, self.num_classes)
        logits = self.cam_logits(cams)
        return {self.loss_cls.loss_name: self.loss_cls(logits, labels)}

    def loss(self, inputs: Sequence[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Forward and compute the classification loss."""
        cams, _ = self.forward(inputs)
        return self.loss_by_feat(cams, batch_data_samples)


def stack_img_labels(batch_data_samples: SampleList,
                     num_classes: int) -> Tensor:
    """Stack the ``img_labels`` of a batch into a float tensor (N, C).

    Raises a ``KeyError`` naming the image when a sample has no labels and a
    ``ValueError`` when their length differs from ``num_classes`` (e.g. a
    dataset with another class list than the head).
    """
    labels = []
    for sample in batch_data_samples:
        if 'img_labels' not in sample:
            raise KeyError(
                f'image {sample.metainfo.get("img_path", "?")} has no '
                '"img_labels": use WeakVOCDataset and PackWSSSInputs')
        label = sample.img_labels
        if label.numel() != num_classes:
            raise ValueError(
                f'image {sample.metainfo.get("img_path", "?")}: img_labels '
                f'has {label.numel()} classes but the head has num_classes='
                f'{num_classes}; make them agree')
        labels.append(label.float())
    return torch.stack(labels)
