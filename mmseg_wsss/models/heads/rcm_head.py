# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict, NamedTuple, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ..losses import (PrototypeMemory, class_prototypes,
                      leave_one_out_prototypes)
from ..losses.regional_contrastive_loss import (memory_prototypes,
                                                memory_pushable)
from ..utils import l2_normalize, normalize_cams, region_mask
from ..utils.global_batch import gather_global_batch

#: Values of :attr:`RCMTargets.proto_source`.
PROTO_NONE, PROTO_BATCH, PROTO_MEMORY = 0, 1, 2
#: Values of ``batch_scope`` of :class:`RCMHead` and :class:`MAMHead`.
BATCH_SCOPES = ('global', 'device')


class RCMTargets(NamedTuple):
    """What RCM trains MainNet's pixel features towards, for one batch.

    ``C`` counts foreground classes; class indices are 0 (background),
    1..C (class ``c - 1`` of the image labels) and ``ignore_index``.

    Attributes:
        target (Tensor): Long region mask ``R`` of the summed multi-scale
            CAMs at crop size, (N, H, W): 0..C or ``ignore_index`` (also on
            the batch padding).
        protos (Tensor): The prototypes each image is trained against,
            (N, C + 1, D): leave-one-out (the other images of the batch and
            the memory) or, in memory mode 'replace', the memory's.
        proto_source (Tensor): Long (N, C + 1), where ``protos[n, k]`` comes
            from: ``PROTO_NONE`` (0, a zero vector), ``PROTO_BATCH`` (1,
            other images of the batch, possibly with the memory) or
            ``PROTO_MEMORY`` (2, the memory only).
        image_protos (Tensor): Each image's own prototypes (N, C + 1, D),
            from SupportNet's scale-1.0 features and region mask.
        image_valid (Tensor): Bool (N, C + 1), which of ``image_protos``
            exist (the class has pixels in that image's mask).
        batch_protos (Tensor): ``image_protos`` of every image of the batch
            the prototypes come from, (N_batch, C + 1, D): under DDP with
            ``batch_scope='global'`` the images of all ranks in the global
            order (:func:`gather_global_batch`), else ``image_protos``.
            What :meth:`RCMHead.update_memory` pushes.
        batch_valid (Tensor): Bool (N_batch, C + 1), ``image_valid`` of
            ``batch_protos``.
    """
    target: Tensor
    protos: Tensor
    proto_source: Tensor
    image_protos: Tensor
    image_valid: Tensor
    batch_protos: Tensor
    batch_valid: Tensor


@MODELS.register_module()
class RCMHead(BaseModule):
    """Regional contrastive module: SupportNet's regions -> prototypes -> loss.

    ``targets()``: SupportNet's multi-scale CAMs -> ``normalize_cams()`` ->
    ``region_mask()`` (``region_thrs``) -> target ``R``; its scale-1.0 CAMs
    and features -> ``class_prototypes()`` -> ``leave_one_out_prototypes()``
    (+ the :class:`PrototypeMemory`), or in ``memory_mode='replace'``
    ``memory_prototypes()`` (the memory's mean, batch pushed, for all).
    ``loss()``: MainNet's pixel features vs the prototypes, target ``R``
    (``loss_rcm``). ``update_memory()`` pushes the batch's prototypes.

    The CAMs given to ``targets()`` may hold only the channels ``present``
    of the batch's classes (the others are zero after label masking); the
    masks and prototypes are then mapped back to all ``C`` classes.
    :class:`DualCAMSegmentor` sets ``num_classes``, ``channels`` and
    ``ignore_index`` from its CAM head and ``train_cfg``.

    Under DDP with ``batch_scope='global'`` the batch is the global batch:
    the prototypes of the images of every rank are gathered (they come
    from SupportNet without gradient, so the gathered values are
    constants of the loss), each image is trained against the leave-one-
    out prototypes of all the others, the memory takes the prototypes of
    the whole global batch in the samplers' order (the same memory on
    every rank), and ``loss_rcm`` is averaged over the valid pixels of all
    ranks (each rank: ``W x`` its own sum / the global count, so that DDP's
    average of the ranks' gradients is the gradient of the global mean).
    ``W`` ranks of ``n`` images then compute one process's loss, gradient
    and memory on ``W x n`` images. ``'device'`` keeps each GPU's batch
    apart: its own prototypes, memory and mean.

    Args:
        num_classes (int): Foreground classes ``C``.
        channels (int): Pixel feature dimension ``D``.
        region_thrs (tuple[float, float]): ``(t_bg, t_fg)`` of the region
            masks. Defaults to (0.3, 0.5).
        memory_size (int): Prototypes kept per class across batches (``Q``;
            0 for no memory). Defaults to 5.
        memory_mode (str): How the memory is used. 'add': summed with the
            other images' prototypes (leave-one-out). 'replace' (the
            authors' code): the batch's prototypes of norm > 0.999 are
            pushed first, then per class the normalised mean of the memory
            is every image's prototype; needs ``memory_size > 0``.
            Defaults to 'add'.
        proto_resolution (str): 'crop' (features upsampled to the mask) or
            'feature' (the mask downsampled to the features) for the
            prototypes. Defaults to 'crop'.
        rcm_resolution (str): Resolution of the loss, 'feature' or 'crop'.
            Defaults to 'feature'.
        batch_scope (str): Under DDP, 'global' (the batch of all ranks) or
            'device' (each rank's own batch); the same outside DDP.
            Defaults to 'global'.
        ignore_index (int): Label of the uncertain band and the padding.
            Defaults to 255.
        loss_rcm (dict): :class:`RegionalContrastiveLoss` config; its
            ``ignore_index`` must be ``ignore_index``.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 num_classes: int,
                 channels: int,
                 region_thrs: Tuple[float, float] = (0.3, 0.5),
                 memory_size: int = 5,
                 memory_mode: str = 'add',
                 proto_resolution: str = 'crop',
                 rcm_resolution: str = 'feature',
                 batch_scope: str = 'global',
                 ignore_index: int = 255,
                 loss_rcm: ConfigType = dict(
                     type='RegionalContrastiveLoss', tau=0.5, loss_weight=1.0),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if len(region_thrs) != 2 or not (0 <= region_thrs[0] <= region_thrs[1]
                                         <= 1):
            raise ValueError('rcm_head.region_thrs must be (t_bg, t_fg) with '
                             f'0 <= t_bg <= t_fg <= 1, got {region_thrs}')
        for key, value in (('proto_resolution', proto_resolution),
                           ('rcm_resolution', rcm_resolution)):
            if value not in ('crop', 'feature'):
                raise ValueError(f"rcm_head.{key} must be 'crop' or "
                                 f"'feature', got {value!r}")
        if batch_scope not in BATCH_SCOPES:
            raise ValueError(f'rcm_head.batch_scope must be one of '
                             f'{BATCH_SCOPES}, got {batch_scope!r}')
        if memory_mode not in ('add', 'replace'):
            raise ValueError("rcm_head.memory_mode must be 'add' or "
                             f"'replace', got {memory_mode!r}")
        if memory_mode == 'replace' and memory_size < 1:
            raise ValueError("rcm_head.memory_mode='replace' needs "
                             f'memory_size >= 1, got {memory_size}')
        self.memory_mode = memory_mode
        self.batch_scope = batch_scope
        self.num_classes = num_classes
        self.region_thrs = tuple(region_thrs)
        self.proto_resolution = proto_resolution
        self.rcm_resolution = rcm_resolution
        self.ignore_index = ignore_index
        self.loss_rcm = MODELS.build(loss_rcm)
        if self.loss_rcm.ignore_index != ignore_index:
            raise ValueError(
                'rcm_head.loss_rcm.ignore_index='
                f'{self.loss_rcm.ignore_index} differs from the region '
                f"masks' ignore_index={ignore_index} (train_cfg.ignore_index)")
        self.memory = (
            PrototypeMemory(num_classes, channels, memory_size)
            if memory_size > 0 else None)

    @property
    def loss_name(self) -> str:
        """str: Key of the loss in the loss dict."""
        return self.loss_rcm.loss_name

    @torch.no_grad()
    def targets(self, support_cams: Sequence[Tensor], proto_cams: Tensor,
                support_feats: Tensor, labels: Tensor, present: Tensor,
                valid: Tensor) -> RCMTargets:
        """Region mask and leave-one-out prototypes of a batch.

        Reads the memory and leaves it unchanged (see :meth:`update_memory`).

        Args:
            support_cams (Sequence[Tensor]): SupportNet's CAMs ``U_k`` at
                every support scale (ReLU'd, masked by the labels, at crop
                size), each (N, P, H, W), channels ``present``.
            proto_cams (Tensor): The one of ``support_cams`` at scale 1.0,
                whose region mask selects the pixels of the prototypes.
            support_feats (Tensor): SupportNet's scale-1.0 pixel features
                (N, D, h, w).
            labels (Tensor): Multi-hot image labels (N, C).
            present (Tensor): Long (P,), the classes of the channels.
            valid (Tensor): Bool (N, H, W), image (not padding) pixels.

        Returns:
            RCMTargets: Target, prototypes and where they come from.
        """
        t_bg, t_fg = self.region_thrs
        labels = labels[:, present]
        # region mask label -> class label: 0 -> 0, p -> present[p - 1] + 1
        class_ids = torch.cat([present.new_zeros(1), present + 1])

        def regions(cams: Tensor) -> Tensor:
            return region_mask(
                normalize_cams(cams, labels), t_bg, t_fg,
                self.ignore_index).masked_fill(~valid, self.ignore_index)

        target = regions(sum(support_cams))
        image_protos, image_valid = self._image_prototypes(
            support_feats, regions(proto_cams), class_ids)
        if self.batch_scope == 'global':
            (batch_protos,
             batch_valid), local = gather_global_batch(image_protos,
                                                       image_valid)
        else:
            batch_protos, batch_valid = image_protos, image_valid
            local = torch.arange(len(image_protos), device=target.device)
        if self.memory_mode == 'replace':
            protos, in_memory = memory_prototypes(
                batch_protos, memory_pushable(batch_protos, batch_valid),
                self.memory)
            source = torch.where(in_memory, PROTO_MEMORY, PROTO_NONE)
            source = source.expand_as(batch_valid)
        else:
            protos = leave_one_out_prototypes(batch_protos, batch_valid,
                                              self.memory)
            source = self._proto_source(batch_valid)
        protos, source = protos[local], source[local]
        # a gather instead of boolean indexing: 5x faster on the CPU
        known = target != self.ignore_index
        target = torch.where(known,
                             class_ids[target.clamp(0,
                                                    len(class_ids) - 1)],
                             target)
        return RCMTargets(target, protos, source, image_protos, image_valid,
                          batch_protos, batch_valid)

    def _image_prototypes(self, support_feats: Tensor, proto_mask: Tensor,
                          class_ids: Tensor) -> Tuple[Tensor, Tensor]:
        """:func:`class_prototypes` of SupportNet's features, (N, C + 1, D).

        ``proto_mask`` labels ``i`` stand for class ``class_ids[i]``. With
        ``proto_resolution='crop'`` the features are upsampled to the mask
        one image at a time: for a whole batch the (N, D, H, W) copy is
        what peaks the memory of a training step (2.4 GB at the VOC
        recipe's batch 8, crop 384, D = 256; 0.3 GB per image).
        """
        feats = support_feats.float()
        n, dim = feats.shape[:2]
        num_labels = len(class_ids) - 1
        if self.proto_resolution == 'crop':
            per_image = []
            for img_feats, img_mask in zip(feats, proto_mask):
                img_feats = F.interpolate(
                    img_feats[None],
                    size=proto_mask.shape[-2:],
                    mode='bilinear',
                    align_corners=False)
                per_image.append(
                    class_prototypes(
                        l2_normalize(img_feats), img_mask[None], num_labels))
            compact, compact_valid = map(torch.cat, zip(*per_image))
        else:
            compact, compact_valid = class_prototypes(
                l2_normalize(feats), proto_mask, num_labels)
        protos = compact.new_zeros(n, self.num_classes + 1, dim)
        protos[:, class_ids] = compact
        valid = compact_valid.new_zeros(n, self.num_classes + 1)
        valid[:, class_ids] = compact_valid
        return protos, valid

    def _proto_source(self, image_valid: Tensor) -> Tensor:
        """:attr:`RCMTargets.proto_source` of the leave-one-out prototypes.

        Mirrors the sums of :func:`leave_one_out_prototypes`: a prototype is
        a zero vector when neither another image nor the memory has one.
        """
        count = image_valid.long()
        from_others = (count.sum(dim=0, keepdim=True) - count) > 0
        in_memory = (
            self.memory.filled.any(dim=1)
            if self.memory is not None else torch.zeros_like(image_valid[0]))
        source = torch.full_like(count, PROTO_NONE)
        source[in_memory.expand_as(source)] = PROTO_MEMORY
        source[from_others] = PROTO_BATCH
        return source

    def update_memory(self, targets: RCMTargets) -> None:
        """Push the batch's own prototypes into the memory (if any): those
        of the global batch with ``batch_scope='global'``."""
        if self.memory is None:
            return
        push = targets.batch_valid
        if self.memory_mode == 'replace':
            # the same prototypes as memory_prototypes() pushed in targets()
            push = memory_pushable(targets.batch_protos, push)
        self.memory.update(targets.batch_protos, push)

    def loss(self, feats: Tensor, targets: RCMTargets) -> Dict[str, Tensor]:
        """RCM loss of MainNet's pixel features.

        Args:
            feats (Tensor): MainNet's pixel features (N, D, h, w).
            targets (RCMTargets): From :meth:`targets`.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss}``.
        """
        if self.rcm_resolution == 'crop':
            feats = F.interpolate(
                feats,
                size=targets.target.shape[-2:],
                mode='bilinear',
                align_corners=False)
        return {
            self.loss_name:
            self.loss_rcm(
                feats,
                targets.protos,
                targets.target,
                global_mean=self.batch_scope == 'global')
        }
