# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Multi-scale attentive module (MAM): CAM targets from SupportNet's scales.

Each MainNet scale ``s`` is pulled towards a weighted mean of SupportNet's
multi-scale CAMs, where a SupportNet scale weighs more the less it agrees with
``M_s``: ``w[s, k, c] = 2 - cos(M_s,c, U_k,c)`` per image and class, with the
maps flattened to vectors. Dissimilar scales carry what ``M_s`` misses.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def _check_cams(caller: str, main_cams: Sequence[Tensor],
                support_cams: Sequence[Tensor]) -> torch.dtype:
    """Check the CAM lists of ``caller``; return their computation dtype."""
    if len(main_cams) == 0 or len(support_cams) == 0:
        raise ValueError(
            f'{caller} needs at least one map in main_cams and in '
            f'support_cams, got {len(main_cams)} and {len(support_cams)}')
    shape = main_cams[0].shape
    for name, cams in (('main_cams', main_cams), ('support_cams',
                                                  support_cams)):
        for cam in cams:
            if cam.dim() != 4 or cam.shape != shape:
                raise ValueError(
                    f'{caller} needs every map in {name} of the shape '
                    f'(N, C, H, W) = {tuple(shape)} of main_cams[0], got '
                    f'{tuple(cam.shape)}')
    dtype = torch.promote_types(main_cams[0].dtype, support_cams[0].dtype)
    return torch.promote_types(dtype, torch.float32)


def _unit_maps(cams: Tensor) -> Tensor:
    """Flatten each (image, class) map to a unit vector; zero stays zero."""
    return F.normalize(cams.flatten(2), dim=2)


TARGET_NORMS = ('num_scales', 'weight_sum')


def _check_target_norm(target_norm: str) -> None:
    if target_norm not in TARGET_NORMS:
        raise ValueError(f'target_norm must be one of {TARGET_NORMS}, got '
                         f'{target_norm!r}')


def _mam_targets(main_cams: Sequence[Tensor], support_cams: Sequence[Tensor],
                 dtype: torch.dtype, target_norm: str) -> List[Tensor]:
    """Targets of :func:`mam_targets`, computed in ``dtype``."""
    supports = [cam.detach().to(dtype) for cam in support_cams]
    support_units = [_unit_maps(cam) for cam in supports]
    targets = []
    for main in main_cams:
        main_unit = _unit_maps(main.detach().to(dtype))
        target = torch.zeros_like(supports[0])
        weight_sum = 0
        for support, support_unit in zip(supports, support_units):
            # cos is 0 for an all-zero map thanks to normalize's eps.
            weight = 2 - (main_unit * support_unit).sum(dim=2)
            target = target + weight[:, :, None, None] * support
            weight_sum = weight_sum + weight
        norm = (
            weight_sum[:, :, None,
                       None] if target_norm == 'weight_sum' else len(supports))
        targets.append(target / norm)
    return targets


def mam_targets(main_cams: Sequence[Tensor],
                support_cams: Sequence[Tensor],
                target_norm: str = 'num_scales') -> List[Tensor]:
    """Detached MAM targets, one per MainNet scale.

    ``T_s = 1/|S_sup| * sum_k w[s, k] * U_k`` with
    ``w[s, k, c] = 2 - cos(M_s,c, U_k,c)`` per image and class; the cosine
    of an all-zero map is 0. Since ``w >= 1`` this target is larger than
    a mean of the ``U_k``; ``target_norm='weight_sum'`` divides by
    ``sum_k w[s, k]`` instead (a weighted mean; not docs/method.md's
    reading, for experiments).

    Args:
        main_cams (Sequence[Tensor]): MainNet CAMs ``M_s`` (ReLU'd, masked by
            the labels), each of shape (N, C, H, W).
        support_cams (Sequence[Tensor]): SupportNet CAMs ``U_k``, each of
            shape (N, C, H, W).
        target_norm (str): 'num_scales' (``1/|S_sup|``) or 'weight_sum'.
            Defaults to 'num_scales'.

    Returns:
        list[Tensor]: Detached targets ``T_s``, each of shape (N, C, H, W),
        in the computation dtype (at least float32).
    """
    dtype = _check_cams('mam_targets', main_cams, support_cams)
    _check_target_norm(target_norm)
    with torch.autocast(device_type=main_cams[0].device.type, enabled=False):
        return _mam_targets(main_cams, support_cams, dtype, target_norm)


def multiscale_attentive_loss(main_cams: Sequence[Tensor],
                              support_cams: Sequence[Tensor],
                              target_norm: str = 'num_scales') -> Tensor:
    """MAM loss: ``sum_s mean |T_s - M_s|`` with detached targets.

    Args:
        main_cams (Sequence[Tensor]): MainNet CAMs ``M_s``, each of shape
            (N, C, H, W).
        support_cams (Sequence[Tensor]): SupportNet CAMs ``U_k``, each of
            shape (N, C, H, W).
        target_norm (str): See :func:`mam_targets`. Defaults to
            'num_scales'.

    Returns:
        Tensor: Scalar loss in the computation dtype (at least float32).
    """
    dtype = _check_cams('multiscale_attentive_loss', main_cams, support_cams)
    _check_target_norm(target_norm)
    with torch.autocast(device_type=main_cams[0].device.type, enabled=False):
        targets = _mam_targets(main_cams, support_cams, dtype, target_norm)
        losses = [(target - main.to(dtype)).abs().mean()
                  for target, main in zip(targets, main_cams)]
        return torch.stack(losses).sum()


@MODELS.register_module()
class MultiScaleAttentiveLoss(nn.Module):
    """Multi-scale attentive loss (MAM) on MainNet's CAMs.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        target_norm (str): 'num_scales' (docs/method.md) or 'weight_sum', see
            :func:`mam_targets`. Defaults to 'num_scales'.
        loss_name (str): Name of the loss item; it must contain ``loss`` to
            be summed into the total loss. Defaults to 'loss_mam'.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 target_norm: str = 'num_scales',
                 loss_name: str = 'loss_mam') -> None:
        super().__init__()
        _check_target_norm(target_norm)
        self.loss_weight = loss_weight
        self.target_norm = target_norm
        self._loss_name = loss_name

    def forward(self, main_cams: Sequence[Tensor],
                support_cams: Sequence[Tensor]) -> Tensor:
        """Weighted MAM loss.

        Args:
            main_cams (Sequence[Tensor]): MainNet CAMs, each (N, C, H, W).
            support_cams (Sequence[Tensor]): SupportNet CAMs, each
                (N, C, H, W).

        Returns:
            Tensor: Scalar loss.
        """
        return self.loss_weight * multiscale_attentive_loss(
            main_cams, support_cams, self.target_norm)

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the loss dict."""
        return self._loss_name
