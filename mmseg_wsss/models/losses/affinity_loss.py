# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""IRN's inter-pixel affinity loss on a class boundary map."""
import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.affinity import affinity_from_boundary, relation_pair_labels


def _mean_log(x: Tensor, mask: Tensor, eps: float) -> Tensor:
    """Mean of ``log(x + eps)`` where ``mask`` holds; 0 (not NaN) when it
    never does, still attached to the graph of ``x``."""
    selected = x[mask]
    return torch.log(selected + eps).sum() / max(selected.numel(), 1)


def affinity_loss(affinities: Tensor,
                  bg_pos: Tensor,
                  fg_pos: Tensor,
                  neg: Tensor,
                  eps: float = 1e-5) -> Tensor:
    """IRN's affinity loss: positives pulled to 1, negatives to 0.

    ``L = mean_{bg_pos}(-log(a + eps)) / 2 + mean_{fg_pos}(-log(a + eps)) / 2
    + mean_{neg}(-log(1 + eps - a))``, each mean over its own pairs, so that
    background and foreground positives weigh the same however many there
    are. A term without pairs is 0. This is the boundary part of IRN's
    released training step (``train_irn.py``: ``bg/2 + fg/2`` plus the
    negative term, that sum halved again to average it with the
    displacement loss, which mmseg-wsss does not train; a ``loss_weight`` of
    0.5 reproduces that scale).

    The math runs in at least float32 (``log(a + 1e-5)`` is not
    representable in half precision).

    Args:
        affinities (Tensor): Pair affinities in [0, 1], shape (N, P, h, w).
        bg_pos (Tensor): Boolean mask of background positive pairs, same
            shape.
        fg_pos (Tensor): Boolean mask of foreground positive pairs.
        neg (Tensor): Boolean mask of negative pairs.
        eps (float): Keeps the logarithms finite at 0 and 1. Defaults to
            1e-5.

    Returns:
        Tensor: Scalar loss.
    """
    for name, mask in (('bg_pos', bg_pos), ('fg_pos', fg_pos), ('neg', neg)):
        if mask.shape != affinities.shape or mask.dtype != torch.bool:
            raise ValueError(
                f'affinity_loss: {name} must be a bool mask of shape '
                f'{tuple(affinities.shape)}, got {mask.dtype} '
                f'{tuple(mask.shape)}')
    dtype = torch.promote_types(affinities.dtype, torch.float32)
    with torch.autocast(device_type=affinities.device.type, enabled=False):
        a = affinities.to(dtype)
        return -(
            _mean_log(a, bg_pos, eps) / 2 + _mean_log(a, fg_pos, eps) / 2 +
            _mean_log(1 - a, neg, eps))


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """Affinity loss of a boundary map against a relation label map.

    ``forward()``: boundary map -> :func:`affinity_from_boundary` (pairs
    within ``radius``) and relation labels -> :func:`relation_pair_labels`
    -> :func:`affinity_loss`.

    Args:
        radius (int): Pairs are strictly closer than this, in pixels of the
            boundary map. Defaults to 10 (IRN's training radius at stride
            4).
        eps (float): See :func:`affinity_loss`. Defaults to 1e-5.
        ignore_index (int): Unknown pixels of the label map.
            Defaults to 255.
        pair_sources (str): Which pixels source pairs (see
            :func:`relation_pair_labels`): ``'inner'``, IRN's, only those
            whose whole radius lies inside the map; ``'all'``, every pixel
            (pairs whose partner lies outside are dropped either way).
            Defaults to 'inner'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; it must contain ``loss`` to
            be summed into the total loss. Defaults to 'loss_aff'.
    """

    def __init__(self,
                 radius: int = 10,
                 eps: float = 1e-5,
                 ignore_index: int = 255,
                 pair_sources: str = 'inner',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_aff') -> None:
        super().__init__()
        # a bad radius or rule fails here, not in training
        relation_pair_labels(
            torch.zeros((1, 1, 1), dtype=torch.long), radius, ignore_index,
            pair_sources)
        self.radius = radius
        self.eps = eps
        self.ignore_index = ignore_index
        self.pair_sources = pair_sources
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, boundary: Tensor, labels: Tensor) -> Tensor:
        """Weighted affinity loss.

        Args:
            boundary (Tensor): Boundary probabilities (N, 1, h, w).
            labels (Tensor): Relation labels at the same size (N, h, w): 0
                background, 1..C classes, ``ignore_index`` unknown.

        Returns:
            Tensor: Scalar loss.
        """
        if tuple(labels.shape) != (boundary.shape[0], ) + tuple(
                boundary.shape[-2:]):
            raise ValueError(
                f'AffinityLoss: labels {tuple(labels.shape)} do not match '
                f'the boundary map {tuple(boundary.shape)}')
        affinities = affinity_from_boundary(boundary, self.radius)
        pairs = relation_pair_labels(labels, self.radius, self.ignore_index,
                                     self.pair_sources)
        return self.loss_weight * affinity_loss(
            affinities, *pairs, eps=self.eps)

    def extra_repr(self) -> str:
        """Extra repr."""
        return (f'radius={self.radius}, pair_sources={self.pair_sources!r}, '
                f'loss_weight={self.loss_weight}')

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item in the loss dict."""
        return self._loss_name
