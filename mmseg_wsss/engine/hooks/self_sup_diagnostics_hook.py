# Copyright (c) mmseg-wsss contributors. All rights reserved.
import copy
from itertools import islice
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from ...evaluation.self_sup_diagnostics import (foreground_counts,
                                                prototype_cosine_sums,
                                                prototype_source_counts,
                                                region_mask_counts, shares)
from ...models.heads.cam_head import stack_img_labels
from ...models.utils import normalize_cams

DEFAULT_THRESHOLDS = tuple(np.round(np.arange(0.05, 0.61, 0.05), 2))


@HOOKS.register_module()
class SelfSupDiagnosticsHook(Hook):
    """Log, during training, whether each self-supervision module does its
    job, measured against ground-truth masks.

    ``before_train``: draws ``num_batches`` training-like batches with masks
    once (the same images and augmentations at every check).
    ``after_train_iter``: every ``interval`` iterations and after the last,
    runs the model on them without gradients and logs, under
    ``train/diag/``:

    - ``cam_fg_recall`` / ``cam_fg_precision`` / ``cam_fg_wrong_class``
      (+ ``cam_bg_thr``): MainNet's
      scale-1.0 CAMs at the background threshold of the best foreground
      IoU among ``thresholds`` (the paper's "sparseness" and
      "impreciseness"); for :class:`CAMSegmentor` too (its inference maps,
      e.g. ReCAM's), so that arms compare;
    - ``mask_*``: RCM's region mask ``R`` against the ground truth: the
      share of foreground labelled right, as background, as another class or
      ignored, and the same for background;
    - ``proto_zero`` / ``proto_batch`` / ``proto_memory_only``: the share
      of trained pixels whose target class's prototype is a zero vector,
      from other images, or from the memory only;
    - ``cos_own`` / ``cos_other`` / ``own_proto_wins``: MainNet's pixel
      features against their own and the closest other prototype;
    - ``mam_target_cam_fg_recall`` / ``mam_target_cam_fg_precision``: MAM's
      scale-1.0 target, normalised like a CAM, at the same threshold.

    Args:
        interval (int): Iterations between checks. Defaults to 50.
        num_batches (int): Batches per check. Defaults to 4.
        thresholds (Sequence[float]): Background thresholds searched for
            the CAM figures. Defaults to 0.05..0.60.
        dataloader (dict, optional): Dataloader config whose samples carry
            ``gt_sem_seg`` and ``img_labels``. Defaults to None: the train
            dataloader's pipeline (with ``LoadAnnotations`` added after
            the image loading) on the test dataloader's split, which has
            masks (CAM mIoU is measured there).
        seed (int): Seed of the batches' sampling and augmentation.
            Defaults to 0.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 num_batches: int = 4,
                 thresholds=DEFAULT_THRESHOLDS,
                 dataloader: Optional[dict] = None,
                 seed: int = 0) -> None:
        if interval < 1 or num_batches < 1:
            raise ValueError('SelfSupDiagnosticsHook needs interval >= 1 and '
                             f'num_batches >= 1, got {interval}, '
                             f'{num_batches}')
        self.interval = interval
        self.num_batches = num_batches
        self.thresholds = tuple(float(t) for t in thresholds)
        self.dataloader = dataloader
        self.seed = seed
        self._batches: List[dict] = []
        self.last: Dict[str, float] = {}

    def _dataloader_cfg(self, runner: Runner) -> dict:
        if self.dataloader is not None:
            return copy.deepcopy(self.dataloader)
        cfg = copy.deepcopy(runner.cfg.train_dataloader)
        test_set = runner.cfg.get('test_dataloader', {}).get('dataset')
        if test_set is None:
            raise ValueError(
                'SelfSupDiagnosticsHook needs ground-truth masks: give it a '
                'dataloader= config, or a test_dataloader whose split has '
                'masks')
        for key in ('data_root', 'ann_file', 'data_prefix'):
            if key in test_set:
                cfg.dataset[key] = copy.deepcopy(test_set[key])
        pipeline = list(cfg.dataset.pipeline)
        load = next((i for i, t in enumerate(pipeline)
                     if t['type'].endswith('LoadImageFromFile')), None)
        if load is None:
            raise ValueError('SelfSupDiagnosticsHook: the train pipeline has '
                             'no LoadImageFromFile to load masks after; give '
                             'the hook a dataloader= config')
        pipeline.insert(load + 1, dict(type='LoadAnnotations'))
        cfg.dataset.pipeline = pipeline
        cfg.sampler = dict(type='DefaultSampler', shuffle=True, seed=self.seed)
        cfg.num_workers = 0
        cfg.persistent_workers = False
        return cfg

    def before_train(self, runner: Runner) -> None:
        """Draw the fixed diagnostic batches."""
        state = torch.random.get_rng_state()
        np_state = np.random.get_state()
        try:
            torch.manual_seed(self.seed)
            np.random.seed(self.seed)
            loader = runner.build_dataloader(
                self._dataloader_cfg(runner), seed=self.seed)
            self._batches = list(islice(loader, self.num_batches))
        finally:
            # the training run's own random stream stays as it was
            torch.random.set_rng_state(state)
            np.random.set_state(np_state)

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Log the diagnostics every ``interval`` iterations."""
        if not (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.last = self.diagnose(model)
        for key, value in self.last.items():
            runner.message_hub.update_scalar(f'train/diag/{key}', value)

    @torch.no_grad()
    def diagnose(self, model) -> Dict[str, float]:
        """The diagnostics of ``model`` on the fixed batches.

        Returns:
            dict: Name -> percentage (cosines as means x 100); the CAM
            threshold as ``cam_bg_thr``.
        """
        counts: Dict[str, float] = {}
        cam_counts = {t: {} for t in self.thresholds}
        mam_counts = {t: {} for t in self.thresholds}
        training = model.training
        model.train(False)
        try:
            for batch in self._batches:
                data = model.data_preprocessor(copy.deepcopy(batch), True)
                self._diagnose_batch(model, data['inputs'],
                                     data['data_samples'], counts, cam_counts,
                                     mam_counts)
        finally:
            model.train(training)
        result = shares(counts)
        best = max(self.thresholds, key=lambda t: _fg_iou(cam_counts[t]))
        result.update(shares(cam_counts[best]), cam_bg_thr=best)
        if mam_counts[best]:
            result.update({
                f'mam_target_{k}': v
                for k, v in shares(mam_counts[best]).items()
            })
        return result

    def _diagnose_batch(self, model, inputs, data_samples, counts, cam_counts,
                        mam_counts) -> None:
        size = inputs.shape[-2:]
        labels = stack_img_labels(data_samples, model.num_classes).to(inputs)
        gt = torch.stack([s.gt_sem_seg.data[0]
                          for s in data_samples]).long().to(inputs.device)
        dual = hasattr(model, 'self_sup_state')
        if dual:
            state = model.self_sup_state(inputs, data_samples)
            cams = state['cams']
        else:
            # the maps predict() uses (e.g. a ReCAM head's re-activated ones)
            cams = model.inference_cams(inputs)
        norm_cams = normalize_cams(
            F.interpolate(
                cams.float(), size, mode='bilinear', align_corners=False),
            labels)
        # ground truth in class ids 1..C is the CAM channel + 1
        for thr in self.thresholds:
            _add(cam_counts[thr], foreground_counts(norm_cams, gt, thr))
        if not dual:
            return
        rcm, mam = state['rcm'], state['mam']
        if rcm is not None:
            _add(counts, region_mask_counts(rcm.target, gt))
            _add(counts, prototype_source_counts(rcm.target, rcm.proto_source))
            feats = state['feats']
            target = F.interpolate(
                rcm.target[:, None].float(), feats.shape[-2:],
                mode='nearest')[:, 0].long()
            _add(counts, prototype_cosine_sums(feats, rcm.protos, target))
        if mam is not None:
            scale_one = list(model.mam_head.main_scales).index(1.0)
            m = mam.targets[scale_one].shape[0]
            target = normalize_cams(mam.targets[scale_one],
                                    labels[:m, mam.present])
            for thr in self.thresholds:
                _add(mam_counts[thr], foreground_counts(target, gt[:m], thr))


def _add(total: Dict[str, float], counts: Dict[str, float]) -> None:
    for key, value in counts.items():
        total[key] = total.get(key, 0.0) + value


def _fg_iou(counts: Dict[str, float]) -> float:
    hit = counts.get('cam_hit', 0.0)
    union = counts.get('cam_gt_fg', 0.0) + counts.get('cam_pred_fg', 0.0)
    return hit / (union - hit) if union > hit else 0.0
