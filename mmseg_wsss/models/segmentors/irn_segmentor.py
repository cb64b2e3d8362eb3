# Copyright (c) mmseg-wsss contributors. All rights reserved.
import math
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList, add_prefix)
from torch import Tensor

from ..utils import (affinity_from_boundary, denormalize_images, pair_offsets,
                     random_walk, strided_size)
from .cam_segmentor import check_finite_losses, check_known_keys

# IRN's semantic-segmentation inference settings.
DEFAULT_TEST_CFG = dict(
    radius=5,
    beta=10,
    exp_times=8,
    bg_thr=0.25,
    flip=True,
    crf=None,
    pad_size=None)


@MODELS.register_module()
class IRNSegmentor(BaseSegmentor):
    """Inter-pixel relation network: CAMs refined by a random walk (IRN).

    IRN (Ahn, Cho and Kwak, CVPR 2019) learns a class boundary map from
    relation labels mined from CAMs and propagates the CAMs over the
    affinities the boundaries imply.

    ``loss()``: ``extract_feat()`` (backbone frozen: no gradient, BatchNorm
    in eval mode) -> ``boundary_head.loss()``: the affinity loss of the
    boundary map (stride 4) against the relation labels in ``gt_sem_seg``.

    ``predict()``, per image: boundary map ``B`` at stride 4 (sigmoid of
    the logits, averaged with those of the mirrored image when
    ``test_cfg.flip``; with ``test_cfg.pad_size`` each pass sees the image
    zero-padded at the bottom and right to that size, as IRN pads to
    512 x 512 so that GroupNorm sees what it saw in training, and the
    logits are cropped back to the image's stride-4 grid
    :func:`strided_size`) -> the sample's ``strided_cams`` (K, h, w) of its
    ``cam_classes`` (from :class:`LoadCAMFromFile` and
    :class:`PackCAMInputs`): the CAMs that the export summed over scales at
    stride 4 and normalised per class there, IRN's walk input as it is
    (resampled and normalised again only where the relation network sees
    the image at another size than the CAM network did) ->
    ``cams * (1 - B)`` (no seed on a boundary) ->
    :func:`random_walk` with :func:`affinity_from_boundary` (``radius``),
    ``beta`` and ``exp_times`` -> upsampled 4x to the input and divided by
    its maximum over the image -> ``seg_logits``: ``bg_thr`` in channel 0,
    the walked maps in their classes' channels (mask indices), 0 in the
    other classes' -> ``postprocess_result()``. As in IRN's released
    code, the background does not walk: it is the constant ``bg_thr``
    (``sem_seg_bg_thres``, 0.25) against the walked CAMs scaled to a
    maximum of 1, so ``pred_sem_seg`` is IRN's refined pseudo mask and
    mmseg's ``IoUMetric`` on a split with masks measures its mIoU. With
    ``test_cfg.crf`` the walked maps then go through a dense CRF
    (:class:`DenseCRF`, background ``(1 - max) ** alpha`` with ``alpha``
    from ``bg_thr`` unless the dict sets it), as PSA's random walk was
    followed by one, and ``seg_logits`` are its probabilities. Each
    sample also gets ``boundary_map``, the boundary map at the image's
    size, for pictures.

    Args:
        backbone (dict): Backbone config with multi-level outputs (e.g. a
            ResNet with ``out_indices=(0, 1, 2, 3)``).
        boundary_head (dict): :class:`BoundaryHead` config.
        neck (dict, optional): Neck config. Defaults to None.
        num_classes (int): Foreground classes C; ``seg_logits`` has C + 1
            channels. Defaults to 20.
        freeze_backbone (bool): Keep the backbone as initialised, as IRN
            does: no gradients, BatchNorm statistics frozen.
            Defaults to True.
        train_cfg (dict, optional): Unused; kept for the segmentor
            contract. Defaults to None.
        test_cfg (dict, optional): Refinement: ``radius`` (int >= 2, pairs
            of the walk), ``beta`` (> 0, affinity exponent), ``exp_times``
            (int >= 0, the walk takes ``2 ** exp_times`` steps), ``bg_thr``
            (background score in [0, 1]), ``flip`` (bool), ``crf``
            (:class:`DenseCRF` parameters, or None) and ``pad_size``
            (``(h, w)``: pad smaller test images to it for the network, or
            None; a larger side stays as it is). Missing keys
            take the values of ``DEFAULT_TEST_CFG``; unknown keys are an
            error.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 boundary_head: ConfigType,
                 neck: OptConfigType = None,
                 num_classes: int = 20,
                 freeze_backbone: bool = True,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(
                f'IRNSegmentor: num_classes must be >= 1, got {num_classes}')
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.boundary_head = MODELS.build(boundary_head)
        self.num_classes = num_classes
        self.freeze_backbone = freeze_backbone
        if freeze_backbone:
            self.backbone.requires_grad_(False)
        self.align_corners = False
        self.train_cfg = train_cfg
        check_known_keys('test_cfg', test_cfg or {}, DEFAULT_TEST_CFG)
        self.test_cfg = ConfigDict(DEFAULT_TEST_CFG, **(test_cfg or {}))
        self._check_test_cfg(self.test_cfg)

    @staticmethod
    def _check_test_cfg(cfg: ConfigDict) -> None:
        pair_offsets(cfg.radius)  # raises on a bad radius
        if not (isinstance(cfg.beta, (int, float)) and math.isfinite(cfg.beta)
                and cfg.beta > 0):
            raise ValueError(f'test_cfg.beta must be > 0, got {cfg.beta!r}')
        if isinstance(cfg.exp_times, bool) or not isinstance(
                cfg.exp_times, int) or cfg.exp_times < 0:
            raise ValueError('test_cfg.exp_times must be an int >= 0, got '
                             f'{cfg.exp_times!r}')
        if not 0 <= cfg.bg_thr <= 1:
            raise ValueError(
                f'test_cfg.bg_thr must lie in [0, 1], got {cfg.bg_thr}')
        if not isinstance(cfg.flip, bool):
            raise ValueError(f'test_cfg.flip must be a bool, got {cfg.flip!r}')
        if cfg.crf is not None and not isinstance(cfg.crf, dict):
            raise ValueError('test_cfg.crf must be a dict of DenseCRF '
                             f'parameters or None, got {cfg.crf!r}')
        pad = cfg.pad_size
        if pad is not None and not (isinstance(
                pad, (tuple, list)) and len(pad) == 2 and all(
                    isinstance(v, int) and not isinstance(v, bool) and v > 0
                    for v in pad)):
            raise ValueError('test_cfg.pad_size must be (height, width) of '
                             f'positive ints or None, got {pad!r}')

    def train(self, mode: bool = True) -> 'IRNSegmentor':
        """Set the training mode; a frozen backbone stays in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Backbone (+ neck) features of images (N, 3, H, W)."""
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_backbone):
            x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Boundary logits (N, 1, h, w) of images (N, 3, H, W)."""
        return self.boundary_head(self.extract_feat(inputs))

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Boundary logits (N, 1, h, w) at stride 4."""
        return self.encode_decode(inputs, None)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Affinity loss of a batch against its relation labels.

        Raises:
            FloatingPointError: The loss is NaN or infinite.
        """
        losses = add_prefix(
            self.boundary_head.loss(self.extract_feat(inputs), data_samples),
            'boundary')
        check_finite_losses(losses)
        return losses

    def predict_boundary(self, inputs: Tensor) -> Tensor:
        """Boundary map in [0, 1] of images (N, 3, H, W) at stride 4:
        (N, 1, (H - 1) // 4 + 1, (W - 1) // 4 + 1).

        Raises:
            ValueError: The head's logits are not at stride 4.
        """
        logits = self._boundary_logits(inputs)
        if self.test_cfg.flip:
            mirrored = self._boundary_logits(inputs.flip(-1)).flip(-1)
            logits = (logits + mirrored) / 2
        return logits.sigmoid()

    def _boundary_logits(self, inputs: Tensor) -> Tensor:
        """Boundary logits at stride 4 of images (N, 3, H, W), the images
        padded to ``test_cfg.pad_size`` for the network (with 0, the mean
        colour after normalisation, as IRN) and the logits cropped back."""
        height, width = inputs.shape[-2:]
        pad = self.test_cfg.pad_size
        if pad is not None:
            inputs = F.pad(
                inputs,
                (0, max(pad[1] - width, 0), 0, max(pad[0] - height, 0)))
        logits = self.encode_decode(inputs, None)
        expected = strided_size(inputs.shape[-2:])
        if tuple(logits.shape[-2:]) != expected:
            raise ValueError(
                'IRNSegmentor refines at stride 4: images '
                f'{tuple(inputs.shape[-2:])} need boundary maps {expected}, '
                f'the head gave {tuple(logits.shape[-2:])}; use backbone '
                'levels whose first is at stride 4')
        h, w = strided_size((height, width))
        return logits[..., :h, :w]

    def refine_cams(self, cams: Tensor, boundary: Tensor) -> Tensor:
        """Random walk of one image's CAMs over its boundary map.

        Args:
            cams (Tensor): Normalised CAMs (K, h, w) at the boundary map's
                size (stride 4).
            boundary (Tensor): Boundary map (1, h, w).

        Returns:
            Tensor: Walked maps (K, h, w), not yet rescaled.
        """
        cfg = self.test_cfg
        affinities = affinity_from_boundary(boundary[None], cfg.radius)
        return random_walk((cams * (1 - boundary))[None], affinities,
                           cfg.radius, cfg.beta, cfg.exp_times)[0]

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Refined CAM segmentation of a batch; see the class docstring.

        Raises:
            ValueError: No data samples, a sample's ``cam_classes`` lie
                outside 1..num_classes, or the boundary map is not at
                stride 4.
            KeyError: A sample has no ``strided_cams``; the message names
                its image.
        """
        if data_samples is None:
            raise ValueError('IRNSegmentor.predict refines CAMs and needs '
                             'data samples with cams (LoadCAMFromFile)')
        boundary = self.predict_boundary(inputs)
        height, width = inputs.shape[-2:]
        logits = torch.stack([
            self._refined_scores(sample, sample_boundary, (height, width))
            for sample, sample_boundary in zip(data_samples, boundary)
        ])
        if self.test_cfg.crf is not None:
            logits = self._refine_with_crf(inputs, logits)
        boundary = F.interpolate(
            boundary, scale_factor=4, mode='bilinear',
            align_corners=False)[..., :height, :width]
        # the boundary map rides along as the last channel, so that it is
        # cropped, unflipped and resized to the image like the scores
        results = self.postprocess_result(
            torch.cat([logits, boundary], dim=1), data_samples)
        for sample in results:
            scores = sample.seg_logits.data
            sample.seg_logits = PixelData(data=scores[:-1])
            sample.pred_sem_seg = PixelData(
                data=scores[:-1].argmax(dim=0, keepdim=True))
            sample.boundary_map = PixelData(data=scores[-1:])
        return results

    def _refined_scores(self, sample, boundary: Tensor,
                        input_size: tuple) -> Tensor:
        """Scores (C + 1, H, W) of one sample at the (padded) input size
        from its boundary map (1, h, w) at stride 4 of that size."""
        height, width = input_size
        scores = boundary.new_zeros((self.num_classes + 1, height, width))
        scores[0] = self.test_cfg.bg_thr
        cams, classes = self._sample_cams(sample)
        if len(classes) == 0:
            return scores
        # the image may fill only the top left of a padded batch; the walk
        # stays on its own grid, outside of which counts as boundary
        h, w = sample.metainfo.get('img_shape', input_size)[:2]
        grid = strided_size((h, w))
        cams = self._walk_input(cams.to(boundary), grid)
        walked = F.interpolate(
            self.refine_cams(cams, boundary[:, :grid[0], :grid[1]])[None],
            scale_factor=4,
            mode='bilinear',
            align_corners=False)[0, :, :h, :w]
        scores[classes, :h, :w] = walked / walked.amax().clamp_min(1e-5)
        return scores

    @staticmethod
    def _walk_input(cams: Tensor, grid: tuple) -> Tensor:
        """Strided CAMs (K, h', w') on the walk's grid ``(h, w)``.

        They are there already when the relation network sees the image at
        the size the CAM network saw (every VOC config). Otherwise (the toy
        configs refine at twice the size) they are resampled bilinearly and
        normalised per class again, as IRN normalises at the walk's grid.
        """
        if tuple(cams.shape[-2:]) == tuple(grid):
            return cams
        cams = F.interpolate(
            cams[None], size=grid, mode='bilinear', align_corners=False)[0]
        return cams / (cams.flatten(1).amax(1)[:, None, None] + 1e-5)

    def _refine_with_crf(self, inputs: Tensor, scores: Tensor) -> Tensor:
        """Dense-CRF probabilities (N, C + 1, H, W) of refined scores."""
        # postprocessing builds on models.utils: imported here, not above
        from mmseg_wsss.postprocessing import DenseCRF
        crf = DenseCRF(**{'bg_thr': self.test_cfg.bg_thr, **self.test_cfg.crf})
        images = denormalize_images(inputs, self.data_preprocessor)
        return crf.refine_batch(images, scores[:, 1:])

    def _sample_cams(self, sample) -> tuple:
        """The strided CAMs (K, h, w) and class indices (K,) of a data
        sample."""
        path = sample.metainfo.get('img_path', '?')
        if 'cam_classes' not in sample:
            raise KeyError(
                f'image {path} has no cams: add LoadCAMFromFile and '
                'PackCAMInputs to the test pipeline')
        if 'strided_cams' not in sample:
            raise KeyError(
                f'image {path} has no strided_cams (the CAMs at stride 4 '
                'that the walk takes): its CAM file lacks them; export the '
                'CAMs again (tools/make_pseudo_labels.py --save-cams)')
        cams, classes = sample.strided_cams, sample.cam_classes.long()
        if len(classes) and (classes.min() < 1
                             or classes.max() > self.num_classes):
            raise ValueError(
                f'image {path}: cam_classes {classes.tolist()} must lie in '
                f'1..{self.num_classes}')
        return cams, classes
