# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ..losses import recam_accuracy
from ..utils import class_specific_features

#: Which weights make the CAMs at inference (``ReCAMHead.cam_weight``).
CAM_WEIGHTS = ('product', 'cam', 'recam')


@MODELS.register_module()
class ReCAMHead(BaseModule):
    """Class re-activation maps (ReCAM): a predictor trained with softmax
    cross-entropy on class-specific features.

    ``loss()``: CAMs ``A`` (N, C, h, w) and pixel features ``f`` (N, D, h, w)
    of the CAM head -> :func:`class_specific_features` ``f_k`` (N, C, D) ->
    bias-free predictor D -> C -> logits (N, C, C) -> ``loss_sce`` over the
    image's classes (:class:`ReCAMSCELoss`). Gradients reach the predictor,
    the CAM classifier and the backbone.

    ``cams()``: class maps at inference from ``f`` and the weights chosen by
    ``cam_weight``: ``'product'`` the element-wise product of the predictor
    and the CAM classifier weights (ReCAM's VOC choice), ``'cam'`` the
    fine-tuned classifier alone (their COCO script), ``'recam'`` the
    predictor alone.

    Args:
        channels (int): Pixel feature dimension D (the CAM head's); set by
            the segmentor.
        num_classes (int): Foreground classes C; set by the segmentor.
        cam_weight (str): One of ``CAM_WEIGHTS``. Defaults to 'product'.
        eps (float): Added to each CAM's maximum in the class-specific
            features. Defaults to 1e-5.
        loss_sce (dict): Config of the loss. Defaults to
            ``dict(type='ReCAMSCELoss', loss_weight=1.0)``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None: PyTorch's default init of the predictor, as
            the official code.
    """

    def __init__(self,
                 channels: int,
                 num_classes: int,
                 cam_weight: str = 'product',
                 eps: float = 1e-5,
                 loss_sce: ConfigType = dict(
                     type='ReCAMSCELoss', loss_weight=1.0),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if cam_weight not in CAM_WEIGHTS:
            raise ValueError(f'ReCAMHead: cam_weight must be one of '
                             f'{CAM_WEIGHTS}, got {cam_weight!r}')
        self.channels = channels
        self.num_classes = num_classes
        self.cam_weight = cam_weight
        self.eps = eps
        # a 1x1 conv, so that its weight has the CAM classifier's shape
        self.predictor = nn.Conv2d(channels, num_classes, 1, bias=False)
        self.loss_sce = MODELS.build(loss_sce)

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the loss dict."""
        return self.loss_sce.loss_name

    def forward(self, cams: Tensor, feats: Tensor) -> Tensor:
        """Predictor logits of every class-specific feature.

        Args:
            cams (Tensor): Raw CAMs of all classes, shape (N, C, h, w).
            feats (Tensor): Pixel features, shape (N, D, h, w).

        Returns:
            Tensor: Logits (N, C, C); row ``k`` scores feature ``f_k``.
        """
        class_feats = class_specific_features(cams, feats, self.eps)
        weight = self.predictor.weight.flatten(1).to(class_feats.dtype)
        return F.linear(class_feats, weight)

    def loss(self, cams: Tensor, feats: Tensor,
             labels: Tensor) -> Dict[str, Tensor]:
        """``loss_sce`` of a batch with multi-hot labels (N, C), and the
        predictor's accuracy ``acc_recam`` on the image's classes
        (:func:`recam_accuracy`; a logged scalar, not part of the loss:
        mmengine sums only the keys that contain 'loss'). A batch without
        labels has no ``acc_recam``."""
        class_logits = self.forward(cams, feats)
        losses = {self.loss_name: self.loss_sce(class_logits, labels)}
        acc = recam_accuracy(class_logits, labels)
        if acc is not None:
            losses['acc_recam'] = acc
        return losses

    def cams(self, feats: Tensor, classifier: nn.Conv2d) -> Tensor:
        """Raw class maps (N, C, h, w) at inference; see ``cam_weight``.

        Args:
            feats (Tensor): Pixel features, shape (N, D, h, w).
            classifier (nn.Conv2d): The CAM head's bias-free classifier.
        """
        if self.cam_weight == 'cam':
            weight = classifier.weight
        elif self.cam_weight == 'recam':
            weight = self.predictor.weight
        else:
            weight = self.predictor.weight * classifier.weight
        return F.conv2d(feats, weight.to(feats.dtype))
