# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""ReCAM's softmax cross-entropy (SCE) on class-specific features."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.global_batch import mean_over_ranks


def recam_sce_loss(class_logits: Tensor,
                   labels: Tensor,
                   num_images: Optional[float] = None) -> Tensor:
    """Softmax cross-entropy of each present class's feature, per image.

    For image ``n`` and each of its classes ``k`` (``labels[n, k] = 1``),
    ``class_logits[n, k]`` are the C logits of the predictor on the class-
    specific feature ``f_k``; its target is ``k`` (C-way, no background).
    ``l_n`` is the mean over the image's classes (0 for an image without
    labels) and the loss is ``sum_n l_n / num_images``. The math runs in at
    least float32, also under autocast.

    Args:
        class_logits (Tensor): Logits, shape (N, C, C): row ``k`` scores the
            feature of class ``k``.
        labels (Tensor): Multi-hot image labels, shape (N, C).
        num_images (float, optional): The denominator; None means N.

    Returns:
        Tensor: Scalar loss.
    """
    n, c = labels.shape
    if class_logits.shape != (n, c, c):
        raise ValueError(
            'recam_sce_loss needs class_logits (N, C, C) for labels (N, C), '
            f'got {tuple(class_logits.shape)} and {tuple(labels.shape)}')
    dtype = torch.promote_types(class_logits.dtype, torch.float32)
    with torch.autocast(device_type=class_logits.device.type, enabled=False):
        target = torch.arange(c, device=labels.device).repeat(n)
        ce = F.cross_entropy(
            class_logits.to(dtype).flatten(0, 1), target,
            reduction='none').view(n, c)
        labels = labels.to(dtype)
        per_image = (ce * labels).sum(1) / labels.sum(1).clamp(min=1)
        return per_image.sum() / (n if num_images is None else num_images)


def recam_accuracy(class_logits: Tensor, labels: Tensor) -> Optional[Tensor]:
    """How often the predictor names the class of a class-specific feature.

    Over the (image, class) pairs of the batch with ``labels[n, k] = 1``:
    the fraction whose logits ``class_logits[n, k]`` have their maximum at
    ``k`` (ReCAM's training log prints it: the direct sign that the
    predictor learns; chance is about 1 / C).

    Args:
        class_logits (Tensor): Logits, shape (N, C, C): row ``k`` scores the
            feature of class ``k``.
        labels (Tensor): Multi-hot image labels, shape (N, C).

    Returns:
        Tensor | None: Scalar in [0, 1], without gradient; None when no image
        of the batch has a label.
    """
    present = labels > 0
    if not bool(present.any()):
        return None
    with torch.no_grad():
        target = torch.arange(labels.shape[1], device=labels.device)
        hits = class_logits.argmax(dim=-1) == target
        return hits[present].float().mean()


@MODELS.register_module()
class ReCAMSCELoss(nn.Module):
    """ReCAM's SCE loss, normalised by the global batch under DDP.

    DDP averages gradients over ranks, so each rank returns
    ``world_size * sum_n l_n / N_global``: their average is the loss of one
    process on the whole global batch, also when ranks hold different
    numbers of images (the last batch of an epoch). The official code runs
    on one GPU and divides by its own batch.

    Args:
        loss_weight (float): Weight of the loss (ReCAM's lambda: 1.0 on VOC,
            0.1 on COCO). Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_sce'.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_sce') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, class_logits: Tensor, labels: Tensor) -> Tensor:
        """Weighted loss of a (local) batch; see the class docstring.

        Args:
            class_logits (Tensor): Logits, shape (N, C, C).
            labels (Tensor): Multi-hot image labels, shape (N, C).

        Returns:
            Tensor: Scalar loss.
        """
        # the images per rank, averaged over the ranks
        num_images = float(
            mean_over_ranks(
                torch.tensor(
                    float(labels.shape[0]), device=class_logits.device)))
        return self.loss_weight * recam_sce_loss(class_logits, labels,
                                                 num_images)

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the loss dict."""
        return self._loss_name
