# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig, SampleList,
                         add_prefix)
from torch import Tensor

from ..heads.cam_head import stack_img_labels
from ..losses import (PrototypeMemory, class_prototypes,
                      leave_one_out_prototypes)
from ..utils import l2_normalize, normalize_cams, region_mask
from .cam_segmentor import (CAMSegmentor, check_finite_losses,
                            check_known_keys, check_scales)

DEFAULT_TRAIN_CFG = dict(
    main_scales=(0.5, 1.0, 2.0),
    support_scales=(0.5, 1.0, 1.5, 2.0),
    region_thrs=(0.3, 0.5),
    memory_size=5,
    proto_resolution='crop',
    rcm_resolution='feature',
    mam_batch_fraction=0.5,
    self_sup_start_iter=0,
    ignore_index=255)


@MODELS.register_module()
class DualCAMSegmentor(CAMSegmentor):
    """MainNet trained with pixel-level self-supervision from SupportNet.

    MainNet is the CAM network of :class:`CAMSegmentor` (``backbone``,
    ``neck``, ``cam_head``). SupportNet (``self.support``) is its momentum
    copy, an mmengine ``ExponentialMovingAverage`` of those modules: it gets
    no gradients, always runs in eval mode and follows MainNet after every
    optimizer step through :class:`SupportNetEMAHook`.

    ``loss()``:

    - MainNet at scale 1.0 -> CAMs, pixel features -> ``loss_cls``;
    - SupportNet (no grad) at ``support_scales`` -> CAMs ``U_k`` at crop size
      -> region mask ``R`` (``region_thrs``); scale 1.0 also -> features and
      its own region mask -> ``class_prototypes()`` ->
      ``leave_one_out_prototypes()`` (+ a :class:`PrototypeMemory`);
    - ``loss_rcm``: MainNet's pixel features vs the prototypes, target ``R``;
    - ``loss_mam``: MainNet CAMs at ``main_scales`` (on the first
      ``mam_batch_fraction`` of the batch) vs ``mam_targets()`` of ``U_k``.

    A loss whose ``loss_weight`` is 0 is not computed (ablations are made by
    loss weights), and SupportNet is not run when neither needs it. Maps at
    crop size hold only the channels of the classes in the batch (the others
    are zero after label masking; :meth:`_batch_classes`).
    ``predict()`` is the baseline's, on MainNet (``test_cfg.predict_on``).

    Args:
        backbone (dict): Backbone config.
        cam_head (dict): :class:`CAMHead` config.
        loss_rcm (dict): :class:`RegionalContrastiveLoss` config.
        loss_mam (dict): :class:`MultiScaleAttentiveLoss` config.
        support_cfg (dict): The averaged-model config of SupportNet (an
            mmengine ``BaseAveragedModel``). mmengine's
            ``ExponentialMovingAverage`` weights the *new* parameters by
            ``momentum``, so the method's m = 0.996 is ``momentum=0.004``.
        neck (dict, optional): Neck config. Defaults to None.
        train_cfg (dict, optional): Self-supervision settings; missing keys
            take ``DEFAULT_TRAIN_CFG``: ``main_scales`` and
            ``support_scales`` (must contain 1.0), ``region_thrs``
            ``(t_bg, t_fg)``, ``memory_size`` (Q, 0 for none),
            ``proto_resolution`` and ``rcm_resolution`` ('crop' or
            'feature'), ``mam_batch_fraction``, ``self_sup_start_iter``
            (RCM and MAM are off before this iteration), ``ignore_index``.
            Unknown keys are an error.
        test_cfg (dict, optional): As :class:`CAMSegmentor`, plus
            ``predict_on`` ('main' or 'support'). Defaults to None.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 cam_head: ConfigType,
                 loss_rcm: ConfigType = dict(
                     type='RegionalContrastiveLoss', tau=0.5, loss_weight=1.0),
                 loss_mam: ConfigType = dict(
                     type='MultiScaleAttentiveLoss', loss_weight=1.0),
                 support_cfg: ConfigType = dict(
                     type='ExponentialMovingAverage', momentum=0.004),
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        test_cfg = dict(test_cfg or {})
        self.predict_on = test_cfg.pop('predict_on', 'main')
        super().__init__(
            backbone=backbone,
            cam_head=cam_head,
            neck=neck,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        check_known_keys('train_cfg', train_cfg or {}, DEFAULT_TRAIN_CFG)
        self.train_cfg = ConfigDict(DEFAULT_TRAIN_CFG, **(train_cfg or {}))
        self._check_train_cfg(self.train_cfg)
        if self.predict_on not in ('main', 'support'):
            raise ValueError("test_cfg.predict_on must be 'main' or "
                             f"'support', got {self.predict_on!r}")
        self.loss_rcm = MODELS.build(loss_rcm)
        self.loss_mam = MODELS.build(loss_mam)
        self.support = MODELS.build(
            dict(support_cfg, model=self._main_modules()))
        self.support.requires_grad_(False)
        self.memory = (
            PrototypeMemory(self.num_classes, self.cam_head.channels,
                            self.train_cfg.memory_size)
            if self.train_cfg.memory_size > 0 else None)

    @staticmethod
    def _check_train_cfg(cfg: ConfigDict) -> None:
        for key in ('main_scales', 'support_scales'):
            scales = cfg[key]
            check_scales(f'train_cfg.{key}', scales)
            if 1.0 not in scales:
                raise ValueError(
                    f'train_cfg.{key} must hold positive scales including '
                    f'1.0 (the main pass), got {scales}')
        if len(cfg.region_thrs) != 2 or not (0 <= cfg.region_thrs[0] <=
                                             cfg.region_thrs[1] <= 1):
            raise ValueError('train_cfg.region_thrs must be (t_bg, t_fg) with '
                             f'0 <= t_bg <= t_fg <= 1, got {cfg.region_thrs}')
        for key in ('proto_resolution', 'rcm_resolution'):
            if cfg[key] not in ('crop', 'feature'):
                raise ValueError(f"train_cfg.{key} must be 'crop' or "
                                 f"'feature', got {cfg[key]!r}")
        if not 0 < cfg.mam_batch_fraction <= 1:
            raise ValueError('train_cfg.mam_batch_fraction must lie in '
                             f'(0, 1], got {cfg.mam_batch_fraction}')

    def _main_modules(self) -> nn.ModuleDict:
        """MainNet's modules, keyed as SupportNet stores them."""
        modules = dict(backbone=self.backbone, cam_head=self.cam_head)
        if self.with_neck:
            modules['neck'] = self.neck
        return nn.ModuleDict(modules)

    def train(self, mode: bool = True) -> 'DualCAMSegmentor':
        """Set MainNet's mode; SupportNet stays in eval mode."""
        super().train(mode)
        self.support.train(False)
        return self

    @property
    def uses_leave_one_out(self) -> bool:
        """Whether training needs >= 2 images per device (RCM on)."""
        return self.loss_rcm.loss_weight != 0

    @torch.no_grad()
    def update_support(self) -> None:
        """One EMA step of SupportNet towards MainNet (the first copies)."""
        self.support.update_parameters(self._main_modules())

    def support_cams(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """SupportNet's raw CAMs (N, C, h, w) and features (N, D, h, w)."""
        net = self.support.module
        x = net['backbone'](inputs)
        if 'neck' in net:
            x = net['neck'](x)
        return net['cam_head'](x)

    def inference_cams(self, inputs: Tensor) -> Tensor:
        """Raw CAMs of MainNet or SupportNet (``test_cfg.predict_on``)."""
        if self.predict_on == 'support':
            return self.support_cams(inputs)[0]
        return super().inference_cams(inputs)

    def _self_sup_active(self) -> bool:
        start = self.train_cfg.self_sup_start_iter
        if start <= 0:
            return True
        return MessageHub.get_current_instance().get_info('iter', 0) >= start

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_cls``, ``loss_rcm`` and ``loss_mam`` of a batch, prefixed
        ``main.``; see the class docstring.

        Raises:
            FloatingPointError: A loss is NaN or infinite (checked before
                the optimizer step and the SupportNet update).
        """
        losses = add_prefix(self._losses(inputs, data_samples), 'main')
        check_finite_losses(losses)
        return losses

    def _losses(self, inputs: Tensor,
                data_samples: SampleList) -> Dict[str, Tensor]:
        """The unprefixed losses of :meth:`loss`."""
        labels = stack_img_labels(data_samples, self.num_classes).to(inputs)
        cams, feats = self.forward_cams(inputs)
        losses = self.cam_head.loss_by_feat(cams, data_samples)
        use_rcm = self.loss_rcm.loss_weight != 0
        use_mam = self.loss_mam.loss_weight != 0
        if not (use_rcm or use_mam):
            return losses
        if not self._self_sup_active():
            # zeros during the warm-up keep the logged keys stable
            for loss in (self.loss_rcm, self.loss_mam):
                if loss.loss_weight != 0:
                    losses[loss.loss_name] = cams.new_zeros(())
            return losses
        if int(self.support.steps) == 0:
            raise RuntimeError(
                'SupportNet has never been synchronised with MainNet: add '
                "custom_hooks=[dict(type='SupportNetEMAHook')] to the config "
                '(or call update_support() before loss() outside a Runner)')

        valid = self._valid_pixels(inputs, data_samples)
        present = self._batch_classes(labels)
        support_cams, support_feats = self._run_support(
            inputs, labels, present)
        if use_rcm:
            losses[self.loss_rcm.loss_name] = self._rcm_loss(
                feats, support_cams, support_feats, labels, present, valid)
        if use_mam:
            losses[self.loss_mam.loss_name] = self._mam_loss(
                inputs, cams, support_cams, labels, present, valid)
        return losses

    @staticmethod
    def _batch_classes(labels: Tensor) -> Tensor:
        """Indices (P,) of the classes of at least one image of the batch.

        Every CAM the self-supervision uses is masked by the image labels, so
        the maps of other classes are zero. The crop-resolution work (resize,
        region masks, MAM) runs on these P channels only: the same losses at
        a fraction of the cost (a VOC image has 1.5 of 20 classes). A batch
        without any label keeps all channels.
        """
        present = labels.any(dim=0).nonzero().squeeze(1)
        if present.numel() == 0:
            present = torch.arange(labels.shape[1], device=labels.device)
        return present

    @staticmethod
    def _valid_pixels(inputs: Tensor, data_samples: SampleList) -> Tensor:
        """Bool (N, H, W): pixels of the image, not of the batch padding."""
        n, _, h, w = inputs.shape
        valid = inputs.new_ones((n, h, w), dtype=torch.bool)
        for i, sample in enumerate(data_samples):
            _, right, _, bottom = sample.metainfo.get('padding_size',
                                                      (0, 0, 0, 0))
            if right:
                valid[i, :, w - right:] = False
            if bottom:
                valid[i, h - bottom:] = False
        return valid

    @torch.no_grad()
    def _run_support(self, inputs: Tensor, labels: Tensor,
                     present: Tensor) -> Tuple[List[Tensor], Tensor]:
        """SupportNet at every support scale, one pass each.

        Returns:
            tuple[list[Tensor], Tensor]: ``U_k`` (N, P, H, W) per scale (ReLU,
            crop size, masked by the labels) of the classes ``present`` (see
            :meth:`_batch_classes`) and the scale-1.0 features (N, D, h, w).
        """
        h, w = inputs.shape[-2:]
        mask = labels[:, present, None, None]
        cams_per_scale, feats = [], None
        for scale in self.train_cfg.support_scales:
            cams, scale_feats = self.support_cams(_rescale(inputs, scale))
            if scale == 1.0:
                feats = scale_feats
            cams = F.interpolate(
                cams[:, present].float(),
                size=(h, w),
                mode='bilinear',
                align_corners=False)
            cams_per_scale.append(F.relu(cams) * mask)
        return cams_per_scale, feats

    def _rcm_loss(self, feats: Tensor, support_cams: List[Tensor],
                  support_feats: Tensor, labels: Tensor, present: Tensor,
                  valid: Tensor) -> Tensor:
        """Regional contrastive loss of MainNet's pixel features.

        ``support_cams`` hold the channels ``present``; the region masks
        are made on them and then carry the class indices 1..C.
        """
        cfg = self.train_cfg
        t_bg, t_fg = cfg.region_thrs
        ignore = cfg.ignore_index
        labels = labels[:, present]
        # region mask label -> class label: 0 -> 0, p -> present[p - 1] + 1
        class_ids = torch.cat([present.new_zeros(1), present + 1])
        with torch.no_grad():
            target = region_mask(
                normalize_cams(sum(support_cams), labels), t_bg, t_fg,
                ignore).masked_fill(~valid, ignore)
            scale_one = list(cfg.support_scales).index(1.0)
            proto_mask = region_mask(
                normalize_cams(support_cams[scale_one], labels), t_bg, t_fg,
                ignore).masked_fill(~valid, ignore)
            protos, protos_valid = self._prototypes(support_feats, proto_mask,
                                                    class_ids)
            loo = leave_one_out_prototypes(protos, protos_valid, self.memory)
            if self.memory is not None:
                self.memory.update(protos, protos_valid)
            # a gather instead of boolean indexing: 5x faster on the CPU
            target = torch.where(
                target != ignore,
                class_ids[target.clamp(0,
                                       len(class_ids) - 1)], target)
        if cfg.rcm_resolution == 'crop':
            feats = F.interpolate(
                feats,
                size=target.shape[-2:],
                mode='bilinear',
                align_corners=False)
        return self.loss_rcm(feats, loo, target)

    def _prototypes(self, support_feats: Tensor, proto_mask: Tensor,
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
        if self.train_cfg.proto_resolution == 'crop':
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

    def _mam_loss(self, inputs: Tensor, cams: Tensor,
                  support_cams: List[Tensor], labels: Tensor, present: Tensor,
                  valid: Tensor) -> Tensor:
        """Multi-scale attentive loss of MainNet's CAMs.

        ``support_cams`` hold the channels ``present``, and so do MainNet's
        maps here. The loss is a mean over all C channels, whose others are
        zero in both maps: the mean over P channels times P / C.
        ``valid`` (N, H, W) marks image pixels: the batch padding is zeroed
        in every map, so it neither enters the scale weights nor the L1.
        """
        n, _, h, w = inputs.shape
        m = max(1, math.ceil(self.train_cfg.mam_batch_fraction * n))
        in_image = valid[:m, None].to(labels)
        mask = labels[:m, present, None, None] * in_image
        main_cams = []
        for scale in self.train_cfg.main_scales:
            scale_cams = cams[:m] if scale == 1.0 else self.forward_cams(
                _rescale(inputs[:m], scale))[0]
            scale_cams = F.interpolate(
                scale_cams[:, present],
                size=(h, w),
                mode='bilinear',
                align_corners=False)
            main_cams.append(F.relu(scale_cams) * mask)
        loss = self.loss_mam(main_cams,
                             [u[:m] * in_image for u in support_cams])
        return loss * (len(present) / self.num_classes)


def _rescale(inputs: Tensor, scale: float) -> Tensor:
    """Bilinear resize of images (N, 3, H, W) by ``scale`` (1.0: as is)."""
    if scale == 1.0:
        return inputs
    h, w = inputs.shape[-2:]
    return F.interpolate(
        inputs,
        size=(max(1, round(h * scale)), max(1, round(w * scale))),
        mode='bilinear',
        align_corners=False)
