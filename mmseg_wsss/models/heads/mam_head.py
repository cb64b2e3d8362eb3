# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math
from typing import Callable, Dict, List, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ..losses import mam_targets
from ..utils import check_scales, rescale_images
from ..utils.global_batch import (global_positions, mean_over_ranks,
                                  rank_batch_sizes)
from .rcm_head import BATCH_SCOPES


def mam_share(sizes: Sequence[int], rank: int,
              batch_fraction: float) -> List[int]:
    """The images of ``rank``'s batch that MAM runs on.

    The first ``max(1, ceil(batch_fraction * sum(sizes)))`` images of the
    global batch (the order of :func:`global_positions`), i.e. evenly
    across the ranks: with equal sizes ``n`` and ``batch_fraction * n``
    whole, the first ``batch_fraction * n`` of every rank; a rank may get
    none. One process (``sizes = [n]``) gets its first images.

    Args:
        sizes (Sequence[int]): Images on each rank, in rank order.
        rank (int): The rank asked about.
        batch_fraction (float): MAM's share of the batch, in (0, 1].

    Returns:
        list[int]: Indices into ``rank``'s batch, ascending.
    """
    num = max(1, math.ceil(batch_fraction * sum(sizes)))
    return [
        i for i, pos in enumerate(global_positions(sizes, rank)) if pos < num
    ]


class MAMTargets(NamedTuple):
    """MainNet's and SupportNet's maps that MAM compares, for one batch.

    Every map holds the ``m`` images of :func:`mam_share` and the channels
    ``present`` of the batch's classes, at crop size, ReLU'd, masked by the
    image labels and zero on the batch padding.

    Attributes:
        main_cams (list[Tensor]): MainNet's CAMs ``M_s`` per main scale,
            each (m, P, H, W), in the graph of MainNet during training.
        support_cams (list[Tensor]): SupportNet's CAMs ``U_k`` per support
            scale, each (m, P, H, W).
        targets (list[Tensor]): Detached targets ``T_s`` of
            :func:`mam_targets`, one per main scale, each (m, P, H, W).
        present (Tensor): Long (P,), the classes of the channels.
        share_mean (Tensor): ``m`` averaged over the DDP ranks with
            ``batch_scope='global'`` (``m`` otherwise), float: the loss is
            this rank's mean times ``m / share_mean``.
    """
    main_cams: List[Tensor]
    support_cams: List[Tensor]
    targets: List[Tensor]
    present: Tensor
    share_mean: Tensor


@MODELS.register_module()
class MAMHead(BaseModule):
    """Multi-scale attentive module: MainNet's scales vs SupportNet's.

    ``targets()``: MainNet at ``main_scales`` on the first
    ``batch_fraction`` of the batch (:func:`mam_share`) -> CAMs at crop size
    (``M_s``) and ``mam_targets()`` of them and SupportNet's multi-scale
    CAMs ``U_k``. ``loss()``: ``loss_mam`` of ``M_s`` and ``U_k``.

    Under DDP with ``batch_scope='global'`` the share is the first
    ``batch_fraction`` of the global batch, taken evenly across the ranks,
    and the loss is the mean over the images of all ranks' shares (this
    rank's mean x its share / the share averaged over the ranks): ``W``
    ranks of ``n`` images compute one process's loss and gradient on
    ``W x n`` images. 'device' takes the first ``batch_fraction`` of each
    rank's batch and its mean.

    The maps hold only the channels ``present`` of the batch's classes; the
    loss is the mean over all ``C`` channels, whose others are zero in both
    maps: the mean over the ``P`` channels times ``P / C``.
    :class:`DualCAMSegmentor` sets ``num_classes`` from its CAM head.

    Args:
        num_classes (int): Foreground classes ``C``.
        main_scales (Sequence[float]): MainNet's scales, including 1.0.
            Defaults to (0.5, 1.0, 2.0).
        batch_fraction (float): Share of the batch (its first images) that
            MAM runs on, in (0, 1]. Defaults to 0.5.
        batch_scope (str): Under DDP, 'global' (the batch of all ranks) or
            'device' (each rank's own batch); the same outside DDP.
            Defaults to 'global'.
        loss_mam (dict): :class:`MultiScaleAttentiveLoss` config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 num_classes: int,
                 main_scales: Sequence[float] = (0.5, 1.0, 2.0),
                 batch_fraction: float = 0.5,
                 batch_scope: str = 'global',
                 loss_mam: ConfigType = dict(
                     type='MultiScaleAttentiveLoss', loss_weight=1.0),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        check_scales('mam_head.main_scales', main_scales, with_one=True)
        if not 0 < batch_fraction <= 1:
            raise ValueError('mam_head.batch_fraction must lie in (0, 1], '
                             f'got {batch_fraction}')
        if batch_scope not in BATCH_SCOPES:
            raise ValueError(f'mam_head.batch_scope must be one of '
                             f'{BATCH_SCOPES}, got {batch_scope!r}')
        self.batch_scope = batch_scope
        self.num_classes = num_classes
        self.main_scales = tuple(main_scales)
        self.batch_fraction = batch_fraction
        self.loss_mam = MODELS.build(loss_mam)

    @property
    def loss_name(self) -> str:
        """str: Key of the loss in the loss dict."""
        return self.loss_mam.loss_name

    def targets(self, cam_fn: Callable[[Tensor], Tensor], inputs: Tensor,
                cams: Tensor, support_cams: Sequence[Tensor], labels: Tensor,
                present: Tensor, valid: Tensor) -> MAMTargets:
        """MainNet's multi-scale CAMs and their MAM targets.

        Args:
            cam_fn (Callable): MainNet, images (m, 3, h', w') -> raw CAMs
                (m, C, h'', w''); run at the scales other than 1.0.
            inputs (Tensor): Images (N, 3, H, W).
            cams (Tensor): MainNet's raw CAMs of ``inputs`` (N, C, h, w).
            support_cams (Sequence[Tensor]): SupportNet's CAMs ``U_k`` per
                support scale (ReLU'd, masked by the labels, at crop size),
                each (N, P, H, W), channels ``present``.
            labels (Tensor): Multi-hot image labels (N, C).
            present (Tensor): Long (P,), the classes of the channels.
            valid (Tensor): Bool (N, H, W), image (not padding) pixels.

        Returns:
            MAMTargets: The maps and targets of the ``m`` images of
            :func:`mam_share`.
        """
        n, _, h, w = inputs.shape
        sizes, rank = rank_batch_sizes(
            n, inputs.device) if self.batch_scope == 'global' else ([n], 0)
        share = mam_share(sizes, rank, self.batch_fraction)
        m = len(share)
        idx = torch.tensor(share, dtype=torch.long, device=inputs.device)
        in_image = valid[idx, None].to(labels)
        mask = labels[idx][:, present, None, None] * in_image
        main_cams = []
        for scale in self.main_scales:
            if scale == 1.0 or m == 0:
                scale_cams = cams[idx]
            else:
                scale_cams = cam_fn(rescale_images(inputs[idx], scale))
            scale_cams = F.interpolate(
                scale_cams[:, present],
                size=(h, w),
                mode='bilinear',
                align_corners=False)
            main_cams.append(F.relu(scale_cams) * mask)
        support_cams = [u[idx] * in_image for u in support_cams]
        share_mean = inputs.new_tensor(float(m))
        if self.batch_scope == 'global':
            share_mean = mean_over_ranks(share_mean)
        return MAMTargets(
            main_cams, support_cams,
            mam_targets(main_cams, support_cams, self.loss_mam.target_norm),
            present, share_mean)

    def loss(self, targets: MAMTargets) -> Dict[str, Tensor]:
        """MAM loss of MainNet's CAMs, as a mean over all ``C`` channels.

        Args:
            targets (MAMTargets): From :meth:`targets`.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}``.
        """
        m = len(targets.main_cams[0])
        if m == 0:
            # a rank without MAM images: 0, in the graph of MainNet's CAMs
            return {self.loss_name: targets.main_cams[0].sum()}
        loss = self.loss_mam(targets.main_cams, targets.support_cams)
        share = len(targets.present) / self.num_classes
        return {self.loss_name: loss * share * m / targets.share_mean}
