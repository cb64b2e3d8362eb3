# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Multi-label soft margin loss: the image-level classification loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def multilabel_soft_margin_loss(logits: Tensor,
                                labels: Tensor,
                                reduction: str = 'mean') -> Tensor:
    """Binary cross entropy with logits, averaged over classes per image.

    For image ``n``: ``l_n = -1/C * sum_c [y_nc * log(sigmoid(x_nc)) +
    (1 - y_nc) * log(sigmoid(-x_nc))]``; ``reduction`` then combines the
    ``l_n``. The math runs in at least float32, also under fp16/bf16
    autocast, because ``log(sigmoid(x))`` loses its tail in half precision.

    Args:
        logits (Tensor): Class logits, shape (N, C).
        labels (Tensor): Multi-hot image labels, shape (N, C).
        reduction (str): ``'mean'`` over images, ``'sum'`` or ``'none'``
            (one value per image, shape (N,)). Defaults to 'mean'.

    Returns:
        Tensor: The loss, a scalar or shape (N,) for ``'none'``.
    """
    if logits.dim() != 2 or logits.shape != labels.shape:
        raise ValueError(
            'multilabel_soft_margin_loss needs logits and labels of the same '
            f'shape (N, C), got logits {tuple(logits.shape)} and labels '
            f'{tuple(labels.shape)}')
    dtype = torch.promote_types(logits.dtype, torch.float32)
    with torch.autocast(device_type=logits.device.type, enabled=False):
        return F.multilabel_soft_margin_loss(
            logits.to(dtype), labels.to(dtype), reduction=reduction)


@MODELS.register_module()
class MultiLabelSoftMarginLoss(nn.Module):
    """Image-level multi-label classification loss of a CAM network.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; it must contain ``loss`` to
            be summed into the total loss. Defaults to 'loss_cls'.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_cls') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Weighted mean loss over the batch.

        Args:
            logits (Tensor): Class logits, shape (N, C).
            labels (Tensor): Multi-hot image labels, shape (N, C).

        Returns:
            Tensor: Scalar loss.
        """
        return self.loss_weight * multilabel_soft_margin_loss(logits, labels)

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the loss dict."""
        return self._loss_name
