# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict, List, NamedTuple, Optional, Tuple

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
from ..heads.mam_head import MAMTargets
from ..heads.rcm_head import RCMTargets
from ..utils import (FoldedCopy, batch_classes, check_scales, l2_normalize,
                     rescale_images, valid_pixels)
from .cam_segmentor import CAMSegmentor, check_finite_losses, check_known_keys


class SupportView(NamedTuple):
    """SupportNet's outputs on a batch, with what the heads need besides.

    Attributes:
        labels (Tensor): Multi-hot image labels (N, C).
        present (Tensor): Long (P,), the classes of the batch
            (:func:`batch_classes`).
        valid (Tensor): Bool (N, H, W), image (not padding) pixels.
        cams (list[Tensor]): SupportNet's CAMs ``U_k`` per support scale,
            ReLU'd, masked by the labels, at crop size, (N, P, H, W) of the
            classes ``present``.
        scale_one_cams (Tensor): The one of ``cams`` at scale 1.0.
        feats (Tensor): SupportNet's scale-1.0 pixel features (N, D, h, w).
    """
    labels: Tensor
    present: Tensor
    valid: Tensor
    cams: List[Tensor]
    scale_one_cams: Tensor
    feats: Tensor


DEFAULT_TRAIN_CFG = dict(
    support_scales=(0.5, 1.0, 1.5, 2.0),
    self_sup_start_iter=0,
    ignore_index=255,
    support_inference_form=True)


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
      and scale-1.0 features (:meth:`_run_support`);
    - ``rcm_head`` (:class:`RCMHead`): region masks and prototypes from
      SupportNet -> ``loss_rcm`` of MainNet's pixel features;
    - ``mam_head`` (:class:`MAMHead`): MainNet's CAMs at its scales vs
      targets from ``U_k`` -> ``loss_mam``.

    The losses are prefixed ``cam.`` as the baseline's. A head set to None,
    or whose loss has ``loss_weight`` 0, is not computed (ablations are made
    by loss weights), and SupportNet is not run when no head needs it. Maps
    at crop size hold only the channels of the classes in the batch (the
    others are zero after label masking; :func:`batch_classes`).
    ``predict()`` is the baseline's, on MainNet (``test_cfg.predict_on``);
    :meth:`self_sup_state` shows what the heads see, for diagnostics.

    Args:
        backbone (dict): Backbone config.
        cam_head (dict): :class:`CAMHead` config.
        rcm_head (dict, optional): :class:`RCMHead` config; its
            ``num_classes``, ``channels`` and ``ignore_index`` are set here.
            None for no RCM.
        mam_head (dict, optional): :class:`MAMHead` config; its
            ``num_classes`` is set here. None for no MAM.
        support_cfg (dict): The averaged-model config of SupportNet (an
            mmengine ``BaseAveragedModel``). mmengine's
            ``ExponentialMovingAverage`` weights the *new* parameters by
            ``momentum``, so the method's m = 0.996 is ``momentum=0.004``.
        neck (dict, optional): Neck config. Defaults to None.
        train_cfg (dict, optional): Missing keys take ``DEFAULT_TRAIN_CFG``:
            ``support_scales`` (must contain 1.0), ``self_sup_start_iter``
            (RCM and MAM are off before this iteration), ``ignore_index``,
            ``support_inference_form`` (run SupportNet's passes on
            :meth:`support_inference_net`, the same maps up to float
            rounding, faster; False runs its EMA modules as they are).
            Unknown keys are an error.
        test_cfg (dict, optional): As :class:`CAMSegmentor`, plus
            ``predict_on`` ('main' or 'support'). Defaults to None.
        data_preprocessor (dict, optional): As :class:`CAMSegmentor`.
        init_cfg (dict | list[dict], optional): As :class:`CAMSegmentor`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 cam_head: ConfigType,
                 rcm_head: OptConfigType = dict(type='RCMHead'),
                 mam_head: OptConfigType = dict(type='MAMHead'),
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
        if self.predict_on not in ('main', 'support'):
            raise ValueError("test_cfg.predict_on must be 'main' or "
                             f"'support', got {self.predict_on!r}")
        check_known_keys('train_cfg', train_cfg or {}, DEFAULT_TRAIN_CFG)
        self.train_cfg = ConfigDict(DEFAULT_TRAIN_CFG, **(train_cfg or {}))
        check_scales(
            'train_cfg.support_scales',
            self.train_cfg.support_scales,
            with_one=True)
        self.rcm_head = None if rcm_head is None else MODELS.build(
            dict(
                rcm_head,
                num_classes=self.num_classes,
                channels=self.cam_head.channels,
                ignore_index=self.train_cfg.ignore_index))
        self.mam_head = None if mam_head is None else MODELS.build(
            dict(mam_head, num_classes=self.num_classes))
        self.support = MODELS.build(
            dict(support_cfg, model=self._main_modules()))
        self.support.requires_grad_(False)

    @property
    def with_rcm(self) -> bool:
        """bool: Whether the RCM loss is computed."""
        return self.rcm_head is not None and \
            self.rcm_head.loss_rcm.loss_weight != 0

    @property
    def with_mam(self) -> bool:
        """bool: Whether the MAM loss is computed."""
        return self.mam_head is not None and \
            self.mam_head.loss_mam.loss_weight != 0

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

    @torch.no_grad()
    def update_support(self) -> None:
        """One EMA step of SupportNet towards MainNet (the first copies)."""
        self.support.update_parameters(self._main_modules())

    def support_cams(self,
                     inputs: Tensor,
                     net: Optional[nn.Module] = None) -> Tuple[Tensor, Tensor]:
        """SupportNet's raw CAMs and pixel features.

        Args:
            inputs (Tensor): Images (N, 3, H, W).
            net (nn.Module, optional): SupportNet's modules to run: its EMA
                modules (None) or :meth:`support_inference_net`, which
                gives the same maps up to float rounding, faster.
                Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: CAMs (N, C, h, w), features (N, D, h, w).
        """
        if net is None:
            net = self.support.module
        x = net['backbone'](inputs)
        if 'neck' in net:
            x = net['neck'](x)
        return net['cam_head'](x)

    @torch.no_grad()
    def support_inference_net(self) -> nn.Module:
        """SupportNet in inference form, up to date with its EMA weights.

        A :class:`FoldedCopy` of SupportNet's modules (BatchNorm folded into
        the convolutions, channels-last weights): the support passes of a
        training step run 1.6x faster on the CPU. It is built on first use
        (again after a move to another device or dtype) and refreshed in
        place on every call, a pass over the weights that costs about 1% of
        the support passes, so it equals SupportNet whatever changed the
        EMA weights (an update, a loaded checkpoint, buffers averaged over
        DDP ranks). It is not a registered module: never saved, optimised
        or wrapped by DDP.

        Returns:
            nn.Module: SupportNet's modules (``backbone``, ``cam_head``,
            ``neck``) in inference form, for :meth:`support_cams`.
        """
        weight = next(self.support.module.parameters())
        key = (weight.device, weight.dtype)
        built_for, folded = self.__dict__.get('_support_copy', (None, None))
        if built_for != key:
            folded = FoldedCopy(self.support.module,
                                lambda net, x: self.support_cams(x, net)[0])
            # a plain attribute: nn.Module would register a module
            self.__dict__['_support_copy'] = (key, folded)
            return folded.module
        return folded.refresh()

    def inference_cams(self, inputs: Tensor) -> Tensor:
        """Raw CAMs of MainNet or SupportNet (``test_cfg.predict_on``)."""
        if self.predict_on == 'support':
            return self.support_cams(inputs)[0]
        return super().inference_cams(inputs)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_cls``, ``loss_rcm`` and ``loss_mam`` of a batch, prefixed
        ``cam.``; see the class docstring.

        Raises:
            FloatingPointError: A loss is NaN or infinite (checked before
                the optimizer step and the SupportNet update).
        """
        cams, feats = self.forward_cams(inputs)
        losses = self.cam_head.loss_by_feat(cams, data_samples)
        heads = [
            head for head, on in ((self.rcm_head, self.with_rcm),
                                  (self.mam_head, self.with_mam)) if on
        ]
        if heads and not self._self_sup_active():
            # zeros during the warm-up keep the logged keys stable
            losses.update(
                {head.loss_name: cams.new_zeros(())
                 for head in heads})
        elif heads:
            view = self._run_support(inputs, data_samples)
            if self.with_rcm:
                targets = self._rcm_targets(view)
                self.rcm_head.update_memory(targets)
                losses.update(self.rcm_head.loss(feats, targets))
            if self.with_mam:
                losses.update(
                    self.mam_head.loss(self._mam_targets(inputs, cams, view)))
        losses = add_prefix(losses, 'cam')
        check_finite_losses(losses)
        return losses

    @torch.no_grad()
    def self_sup_state(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """What the self-supervision sees on a batch, for diagnostics.

        MainNet runs in eval mode (its BatchNorm statistics stay as they
        are), SupportNet as in :meth:`loss`; the prototype memory is read,
        not updated. Both heads run when built, whatever their loss weights
        and the warm-up.

        Args:
            inputs (Tensor): Preprocessed images (N, 3, H, W), as for
                :meth:`loss`.
            data_samples (list[SegDataSample]): Samples with
                ``img_labels``.

        Returns:
            dict: ``cams``: MainNet's raw scale-1.0 CAMs (N, C, h, w);
            ``feats``: its L2-normalised pixel features (N, D, h, w);
            ``support``: :class:`SupportView` (labels, the batch's classes
            ``present`` (P,), valid pixels, SupportNet's CAMs per support
            scale (N, P, H, W) and features); ``rcm``: :class:`RCMTargets`;
            ``mam``: :class:`MAMTargets` (None without that head).
        """
        training = self.training
        self.train(False)
        try:
            cams, feats = self.forward_cams(inputs)
            view = self._run_support(inputs, data_samples)
            return dict(
                cams=cams,
                feats=l2_normalize(feats),
                support=view,
                rcm=None if self.rcm_head is None else self._rcm_targets(view),
                mam=None if self.mam_head is None else self._mam_targets(
                    inputs, cams, view))
        finally:
            self.train(training)

    def _self_sup_active(self) -> bool:
        start = self.train_cfg.self_sup_start_iter
        if start <= 0:
            return True
        return MessageHub.get_current_instance().get_info('iter', 0) >= start

    def _rcm_targets(self, view: SupportView) -> RCMTargets:
        return self.rcm_head.targets(view.cams, view.scale_one_cams,
                                     view.feats, view.labels, view.present,
                                     view.valid)

    def _mam_targets(self, inputs: Tensor, cams: Tensor,
                     view: SupportView) -> MAMTargets:
        return self.mam_head.targets(lambda x: self.forward_cams(x)[0], inputs,
                                     cams, view.cams, view.labels,
                                     view.present, view.valid)

    @torch.no_grad()
    def _run_support(self, inputs: Tensor,
                     data_samples: SampleList) -> SupportView:
        """SupportNet at every support scale, one pass each."""
        if int(self.support.steps) == 0:
            raise RuntimeError(
                'SupportNet has never been synchronised with MainNet: add '
                "custom_hooks=[dict(type='SupportNetEMAHook')] to the config "
                '(or call update_support() before loss() outside a Runner)')
        labels = stack_img_labels(data_samples, self.num_classes).to(inputs)
        present = batch_classes(labels)
        mask = labels[:, present, None, None]
        net = (
            self.support_inference_net()
            if self.train_cfg.support_inference_form else None)
        cams_per_scale = []
        for scale in self.train_cfg.support_scales:
            cams, scale_feats = self.support_cams(
                rescale_images(inputs, scale), net)
            if scale == 1.0:
                feats = scale_feats
                scale_one = len(cams_per_scale)
            cams = F.interpolate(
                cams[:, present].float(),
                size=inputs.shape[-2:],
                mode='bilinear',
                align_corners=False)
            cams_per_scale.append(F.relu(cams) * mask)
        return SupportView(labels, present, valid_pixels(inputs, data_samples),
                           cams_per_scale, cams_per_scale[scale_one], feats)
