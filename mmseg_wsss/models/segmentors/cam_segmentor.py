# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub, print_log
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList, add_prefix)
from torch import Tensor

from ..heads.cam_head import stack_img_labels
from ..utils import (cams_to_seg_logits, check_scales, denormalize_images,
                     normalize_cams, scale_cams, strided_size, sum_resized)

DEFAULT_TEST_CFG = dict(
    scales=(1.0, 0.5, 1.5, 2.0),
    flip=True,
    bg_thr=0.15,
    labels='auto',
    cls_thr=0.5,
    crf=None,
    max_side=None,
    strided_cams=False)

#: State-dict prefixes of the parts a segmentor may add to its CAM network,
#: by part: :class:`DualCAMSegmentor`'s SupportNet, RCM memory and MAM, and
#: the ReCAM predictor.
EXTRA_PART_KEYS = {
    'SupportNet / RCM': ('support.', 'rcm_head.', 'mam_head.'),
    'ReCAM predictor': ('recam_head.', ),
}


def skip_other_network_keys(
        module: nn.Module, incompatible_keys: Tuple[List[str],
                                                    List[str]]) -> None:
    """``load_state_dict`` post-hook: load between the CAM segmentors.

    Every segmentor here holds its CAM network under the keys of a plain
    :class:`CAMSegmentor`; some add parts (``EXTRA_PART_KEYS``). For each
    part: keys of the checkpoint that this segmentor does not have are
    ignored (e.g. a DualCAMSegmentor checkpoint loaded into a
    CAMSegmentor), and a part of this segmentor that the checkpoint lacks
    entirely is left as built (e.g. the ReCAM predictor when loading a
    stage-1 checkpoint; SupportNetEMAHook copies MainNet into SupportNet).
    Either way one INFO line says so, instead of a warning listing every
    key; any other mismatch is reported as usual. Works with ``torch``'s and
    mmengine's ``load_state_dict``, which both call post-hooks with lists
    that may be edited in place.

    Args:
        module (nn.Module): The segmentor being loaded.
        incompatible_keys (tuple[list[str], list[str]]): The named tuple
            ``(missing_keys, unexpected_keys)`` of the whole load.
    """
    name = type(module).__name__
    state_keys = list(module.state_dict())
    for part, prefixes in EXTRA_PART_KEYS.items():
        unexpected = [
            key for key in incompatible_keys.unexpected_keys
            if key.startswith(prefixes)
        ]
        own = {key for key in state_keys if key.startswith(prefixes)}
        if unexpected and not own:
            incompatible_keys.unexpected_keys[:] = [
                key for key in incompatible_keys.unexpected_keys
                if not key.startswith(prefixes)
            ]
            print_log(
                f'{name}: ignored the {len(unexpected)} {part} keys '
                f'({", ".join(p + "*" for p in prefixes)}) of another '
                'segmentor\'s checkpoint; the CAM network was loaded',
                logger='current')
        # BatchNorm fills a missing num_batches_tracked without reporting it
        loadable = {
            key
            for key in own if not key.endswith('num_batches_tracked')
        }
        if loadable and loadable.issubset(incompatible_keys.missing_keys):
            incompatible_keys.missing_keys[:] = [
                key for key in incompatible_keys.missing_keys if key not in own
            ]
            print_log(
                f'{name}: the checkpoint has no {part} keys: the CAM '
                f'network was loaded, the {part} is left as built',
                logger='current')


def check_known_keys(key: str, cfg: dict, known: Sequence[str]) -> None:
    """Reject config keys that nothing reads.

    A misspelt key (``bg_thresh``) would otherwise be ignored in silence
    and its default used.

    Args:
        key (str): Name of the config dict, for the message.
        cfg (dict): The config dict.
        known (Sequence[str]): The keys it may have.

    Raises:
        ValueError: ``cfg`` has other keys; the message names them.
    """
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise ValueError(f'{key} has unknown keys {unknown}; known keys: '
                         f'{sorted(known)}')


def check_finite_losses(losses: Dict[str, Tensor]) -> None:
    """Stop training on a NaN or infinite loss, before it is used.

    ``loss()`` runs before the backward pass, the optimizer step and the
    SupportNet update, so raising here leaves the parameters of both
    networks (and the last checkpoint) as they were.

    Args:
        losses (dict[str, Tensor]): Scalar losses, by (prefixed) name.

    Raises:
        FloatingPointError: A loss is not finite; the message names it and
            the training iteration (1-based, as in the log).
    """
    values = torch.stack([v.detach().float() for v in losses.values()])
    if bool(values.isfinite().all()):
        return
    bad = ', '.join(f'{name}={value.item()}'
                    for name, value in zip(losses, values)
                    if not value.isfinite())
    it = MessageHub.get_current_instance().get_info('iter')
    where = (f'at training iteration {it + 1}'
             if it is not None else 'outside a training loop')
    raise FloatingPointError(
        f'non-finite loss {bad} {where}; no optimizer step or SupportNet '
        'update was made with it. Resume from the last checkpoint with a '
        'lower learning rate, without fp16, or after checking the data')


@MODELS.register_module()
class CAMSegmentor(BaseSegmentor):
    """A class activation map network trained from image-level labels.

    ``loss()``: ``extract_feat()`` -> ``cam_head.forward()`` -> global
    average pooling -> ``loss_cls`` against ``img_labels``; with a
    ``recam_head``, also its ``loss_sce`` on the CAMs and pixel features
    (ReCAM: re-trains a converged CAM network, see :class:`ReCAMHead`).

    ``predict()``: (images longer than ``test_cfg.max_side`` downscaled) ->
    ``multiscale_cams()`` over ``test_cfg.scales`` x flip, at the input size
    (of the CAM classifier, or the ``recam_head``'s ``cam_weight``)
    -> ``normalize_cams()`` with the image's labels -> ``[bg_thr, CAMs]``
    (-> dense CRF) -> ``postprocess_result()``. ``seg_logits`` holds the
    background score in channel 0 and the normalised CAMs in channels
    1..C, so ``pred_sem_seg`` is their argmax and mmseg's ``IoUMetric`` on a
    split with masks reports the CAM mIoU. With ``test_cfg.strided_cams``
    each sample also gets ``strided_cams``: the same scales summed at
    stride 4 of the image (:func:`strided_size`) and normalised per class
    there, IRN's random-walk input (its ``make_cam.py`` ``cam``).

    Args:
        backbone (dict): Backbone config (any mmseg or mmpretrain backbone).
        cam_head (dict): :class:`CAMHead` config.
        neck (dict, optional): Neck config. Defaults to None.
        recam_head (dict, optional): :class:`ReCAMHead` config; its
            ``channels`` and ``num_classes`` are the CAM head's. None for
            the plain CAM network. Defaults to None.
        train_cfg (dict, optional): Unused by the baseline; kept for the
            segmentor contract. Defaults to None.
        test_cfg (dict, optional): CAM inference: ``scales``, ``flip``,
            ``bg_thr`` (background score), ``labels`` ('gt': the image's
            labels, required; 'pred': classifier scores above ``cls_thr``;
            'auto': 'gt' when the sample has labels), ``crf`` (dict of
            :class:`DenseCRF` parameters, or None), ``max_side`` (int or
            None: a batch whose longer side exceeds it runs the network on
            a copy downscaled to it, and its CAMs are upsampled, which
            bounds inference memory on huge images), ``strided_cams``
            (bool: also the normalised CAMs at stride 4, see above; the
            export turns it on). Missing keys take the values of
            ``DEFAULT_TEST_CFG``; unknown keys are an error.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
            Defaults to None.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: ConfigType,
                 cam_head: ConfigType,
                 neck: OptConfigType = None,
                 recam_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        # a wrong test_cfg fails before the network is built
        check_known_keys('test_cfg', test_cfg or {}, DEFAULT_TEST_CFG)
        test_cfg = ConfigDict(DEFAULT_TEST_CFG, **(test_cfg or {}))
        self._check_test_cfg(test_cfg)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.cam_head = MODELS.build(cam_head)
        self.num_classes = self.cam_head.num_classes
        self.recam_head = None if recam_head is None else MODELS.build(
            dict(
                recam_head,
                channels=self.cam_head.channels,
                num_classes=self.num_classes))
        self.align_corners = False
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.register_load_state_dict_post_hook(skip_other_network_keys)

    @staticmethod
    def _check_test_cfg(cfg: ConfigDict) -> None:
        check_scales('test_cfg.scales', cfg.scales)
        if cfg.labels not in ('gt', 'pred', 'auto'):
            raise ValueError(f"test_cfg.labels must be 'gt', 'pred' or "
                             f"'auto', got {cfg.labels!r}")
        if not 0 <= cfg.bg_thr <= 1:
            raise ValueError(
                f'test_cfg.bg_thr must lie in [0, 1], got {cfg.bg_thr}')
        if not 0 < cfg.cls_thr < 1:
            raise ValueError(
                f'test_cfg.cls_thr must lie in (0, 1), got {cfg.cls_thr}')
        if cfg.max_side is not None and not (isinstance(cfg.max_side, int)
                                             and cfg.max_side > 0):
            raise ValueError('test_cfg.max_side must be a positive int or '
                             f'None, got {cfg.max_side!r}')
        if not isinstance(cfg.strided_cams, bool):
            raise ValueError('test_cfg.strided_cams must be a bool, got '
                             f'{cfg.strided_cams!r}')

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Backbone (+ neck) features of images (N, 3, H, W)."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def forward_cams(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Raw CAMs (N, C, h, w) and pixel features (N, D, h, w)."""
        return self.cam_head(self.extract_feat(inputs))

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Raw CAMs (N, C, h, w) of images (N, 3, H, W) at one scale."""
        return self.forward_cams(inputs)[0]

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Image-level classification loss of a batch (``cam.loss_cls``),
        and ReCAM's ``cam.loss_sce`` with a ``recam_head``.

        Raises:
            FloatingPointError: A loss is NaN or infinite.
        """
        cams, feats = self.forward_cams(inputs)
        losses = self.cam_head.loss_by_feat(cams, data_samples)
        if self.recam_head is not None:
            labels = stack_img_labels(data_samples, self.num_classes)
            losses.update(
                self.recam_head.loss(cams, feats, labels.to(cams.device)))
        losses = add_prefix(losses, 'cam')
        check_finite_losses(losses)
        return losses

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Raw CAMs (N, C, h, w) at the input scale."""
        return self.encode_decode(inputs, None)

    def _predict_labels(self, inputs: Tensor,
                        data_samples: OptSampleList) -> Tensor:
        """Image labels (N, C) used to mask the CAMs, per ``test_cfg``."""
        mode = self.test_cfg.labels
        has_gt = data_samples is not None and all('img_labels' in s
                                                  for s in data_samples)
        if mode == 'gt' or (mode == 'auto' and has_gt):
            if data_samples is None:
                raise ValueError("test_cfg.labels='gt' needs data samples "
                                 'with img_labels')
            return stack_img_labels(data_samples,
                                    self.num_classes).to(inputs.device)
        # the classifier's maps: re-activated ones are not calibrated logits
        cams = self.inference_cams(inputs) if self.recam_head is None \
            else self.forward_cams(inputs)[0]
        scores = self.cam_head.cam_logits(cams)
        return (scores.sigmoid() > self.test_cfg.cls_thr).float()

    def predict_cams(self,
                     inputs: Tensor,
                     data_samples: OptSampleList = None) -> Tensor:
        """Normalised multi-scale (+ flip) CAMs (N, C, H, W) of a batch."""
        maps, labels = self._scale_cams(inputs, data_samples)
        return normalize_cams(sum_resized(maps, inputs.shape[-2:]), labels)

    def _scale_cams(
            self, inputs: Tensor,
            data_samples: OptSampleList) -> Tuple[List[Tensor], Tensor]:
        """ReLU'd CAMs of each test scale (flips added) at the network's
        resolution, and the labels (N, C) that mask them."""
        inputs = self._limit_size(inputs)
        labels = self._predict_labels(inputs, data_samples)
        maps = scale_cams(self.inference_cams, inputs, self.test_cfg.scales,
                          self.test_cfg.flip)
        return maps, labels

    def _limit_size(self, inputs: Tensor) -> Tensor:
        """Images (N, 3, H, W) downscaled to fit ``test_cfg.max_side``."""
        max_side = self.test_cfg.max_side
        h, w = inputs.shape[-2:]
        if max_side is None or max(h, w) <= max_side:
            return inputs
        factor = max_side / max(h, w)
        size = (max(1, round(h * factor)), max(1, round(w * factor)))
        # antialiasing keeps thin structures of a much larger image
        return F.interpolate(
            inputs,
            size=size,
            mode='bilinear',
            align_corners=False,
            antialias=True)

    def inference_cams(self, inputs: Tensor) -> Tensor:
        """Raw CAMs (N, C, h, w) of the network used by ``predict()``: the
        CAM classifier's, or the ``recam_head``'s (its ``cam_weight``)."""
        cams, feats = self.forward_cams(inputs)
        if self.recam_head is None:
            return cams
        return self.recam_head.cams(feats, self.cam_head.classifier)

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """CAM segmentation of a batch; see the class docstring.

        Raises:
            ValueError: ``test_cfg.strided_cams`` on a batch padded beyond
                its images (their stride-4 grid would not be the batch's).
        """
        maps, labels = self._scale_cams(inputs, data_samples)
        norm_cams = normalize_cams(
            sum_resized(maps, inputs.shape[-2:]), labels)
        seg_logits = cams_to_seg_logits(norm_cams, self.test_cfg.bg_thr)
        if self.test_cfg.crf is not None:
            seg_logits = self._refine_with_crf(inputs, norm_cams)
        results = self.postprocess_result(seg_logits, data_samples)
        if self.test_cfg.strided_cams:
            self._add_strided_cams(results, maps, labels, inputs.shape[-2:])
        return results

    @staticmethod
    def _add_strided_cams(results: SampleList, maps: List[Tensor],
                          labels: Tensor, input_size: tuple) -> None:
        """Give each result ``strided_cams``: the scales' CAMs summed at
        stride 4 of the image and normalised there (C, h, w)."""
        for sample in results:
            shape = tuple(sample.metainfo.get('img_shape', input_size)[:2])
            if shape != tuple(input_size):
                raise ValueError(
                    'test_cfg.strided_cams needs unpadded test batches '
                    '(batch size 1, no data_preprocessor.test_cfg padding): '
                    f'image {sample.metainfo.get("img_path", "?")} is '
                    f'{shape} in a batch of {tuple(input_size)}')
        strided = normalize_cams(
            sum_resized(maps, strided_size(input_size)), labels)
        for sample, cams in zip(results, strided):
            sample.strided_cams = PixelData(data=cams)

    def _refine_with_crf(self, inputs: Tensor, norm_cams: Tensor) -> Tensor:
        """Dense-CRF probabilities (N, C + 1, H, W) from normalised CAMs."""
        # postprocessing builds on models.utils: imported here, not above
        from mmseg_wsss.postprocessing import DenseCRF
        images = denormalize_images(inputs, self.data_preprocessor)
        return DenseCRF(**self.test_cfg.crf).refine_batch(images, norm_cams)
