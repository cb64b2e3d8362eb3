# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""CAM mIoU with a sweep over the background threshold."""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable
from torch import Tensor

DEFAULT_BG_THRS = dict(start=0.05, stop=0.60, step=0.05)


def parse_bg_thrs(bg_thrs: Union[Sequence[float], dict]) -> List[float]:
    """Turn a threshold list or a ``dict(start, stop, step)`` into a list.

    Args:
        bg_thrs (Sequence[float] | dict): Thresholds, or a range with keys
            ``start``, ``stop`` (inclusive) and ``step``.

    Returns:
        list[float]: Sorted, distinct thresholds in [0, 1], rounded to 6
        decimals so that a range gives 0.15, not 0.15000000000000002.
    """
    if isinstance(bg_thrs, dict):
        if set(bg_thrs) != {'start', 'stop', 'step'}:
            raise KeyError('CAMIoUMetric: bg_thrs as a dict needs exactly the '
                           f'keys start, stop, step; got {sorted(bg_thrs)}')
        start, stop, step = (bg_thrs[k] for k in ('start', 'stop', 'step'))
        if step <= 0 or stop < start:
            raise ValueError('CAMIoUMetric: bg_thrs needs step > 0 and '
                             f'stop >= start, got {bg_thrs}')
        # the tolerance keeps ``stop`` despite float error in the division
        num = math.floor((stop - start) / step + 1e-6) + 1
        bg_thrs = [start + i * step for i in range(num)]
    thrs = sorted({round(float(t), 6) for t in bg_thrs})
    if not thrs or not all(0 <= t <= 1 for t in thrs):
        raise ValueError('CAMIoUMetric: bg_thrs must be a non-empty list of '
                         f'values in [0, 1], got {list(bg_thrs)}')
    return thrs


@METRICS.register_module()
class CAMIoUMetric(BaseMetric):
    """CAM mIoU over a sweep of background thresholds.

    For a background threshold ``t`` the prediction is the argmax over
    ``[t, cam_1, ..., cam_C]`` (ties go to the lower index, so to background),
    i.e. what :class:`mmseg.evaluation.IoUMetric` would score on that
    ``pred_sem_seg``. All thresholds are scored in one pass:

    ``process()``: ``seg_logits[1:]`` -> per-pixel max score and class ->
    :meth:`intersect_and_union_sweep` -> per-threshold counts (only counts
    are kept, so memory stays small on 10k images).
    ``compute_metrics()``: summed counts -> ``IoUMetric.total_area_to_metrics``
    per threshold -> the best threshold, its mIoU, aAcc and per-class IoU.

    The best threshold is chosen on the very masks it is scored on, which a
    weakly supervised result may not do; so the metric also scores the
    model's own prediction (``pred_sem_seg``, at its ``test_cfg.bg_thr``:
    the recipe's fixed threshold, read back from the constant background
    channel of ``seg_logits``) as ``fixed_mIoU`` / ``fixed_bg_thr``, and
    logs both figures side by side. Papers' tables compare with the fixed
    one.

    Args:
        bg_thrs (Sequence[float] | dict, optional): Background thresholds, or
            ``dict(start, stop, step)`` with ``stop`` included. Defaults to
            None, meaning 0.05, 0.10, ..., 0.60.
        ignore_index (int): Ground-truth label left out of the evaluation.
            Defaults to 255.
        collect_device (str): Device used to collect results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """

    def __init__(self,
                 bg_thrs: Union[Sequence[float], dict, None] = None,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.bg_thrs = parse_bg_thrs(DEFAULT_BG_THRS if bg_thrs is
                                     None else bg_thrs)
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Add the per-threshold counts of each data sample to the results.

        Args:
            data_batch (dict): A batch of data from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs; each has
                ``seg_logits.data`` (C+1, H, W) with the normalised CAMs in
                channels 1..C, and ``gt_sem_seg.data`` (1, H, W).
        """
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            logits = data_sample['seg_logits']['data']
            label = data_sample['gt_sem_seg']['data'].squeeze(0)
            where = data_sample.get('img_path', 'a data sample')
            if logits.shape[0] != num_classes:
                raise ValueError(
                    f'CAMIoUMetric: {where}: seg_logits has '
                    f'{logits.shape[0]} channels, expected {num_classes} '
                    '(background + classes of dataset_meta)')
            if logits.shape[1:] != label.shape:
                raise ValueError(
                    f'CAMIoUMetric: {where}: seg_logits is '
                    f'{tuple(logits.shape[1:])} but gt_sem_seg is '
                    f'{tuple(label.shape)}')
            sweep = self.intersect_and_union_sweep(logits[1:], label,
                                                   self.bg_thrs, num_classes,
                                                   self.ignore_index)
            self.results.append(
                sweep + self._fixed_areas(data_sample, label, num_classes))

    def _fixed_areas(self, data_sample: dict, label: Tensor,
                     num_classes: int) -> tuple:
        """``(intersect, union, pred, label areas, bg_thr)`` of the
        sample's ``pred_sem_seg`` (``bg_thr`` NaN when the background channel
        of ``seg_logits`` is not one constant, e.g. after a CRF); ``()``
        without ``pred_sem_seg``."""
        if 'pred_sem_seg' not in data_sample:
            return ()
        pred = data_sample['pred_sem_seg']['data'].squeeze(0)
        areas = IoUMetric.intersect_and_union(
            pred.to(label.device), label, num_classes, self.ignore_index)
        background = data_sample['seg_logits']['data'][0]
        low, high = background.min().item(), background.max().item()
        bg_thr = round(low, 6) if low == high else math.nan
        return tuple(area.cpu() for area in areas) + (bg_thr, )

    @staticmethod
    def intersect_and_union_sweep(
            cams: Tensor, label: Tensor, bg_thrs: Sequence[float],
            num_classes: int,
            ignore_index: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Areas of :meth:`IoUMetric.intersect_and_union` at every threshold.

        A pixel with top score ``s`` and top class ``c`` is predicted ``c + 1``
        at the thresholds below ``s`` and background at the others. Counting
        pixels by (number of thresholds below ``s``, ``c``) once and taking
        cumulative sums gives every threshold's histograms in one pass.

        Args:
            cams (Tensor): Normalised foreground CAMs, shape (C, H, W).
            label (Tensor): Ground truth, shape (H, W).
            bg_thrs (Sequence[float]): Thresholds in ascending order, T of
                them.
            num_classes (int): Classes with background, ``K = C + 1``.
            ignore_index (int): Ground-truth label left out.

        Returns:
            tuple[Tensor]: Long tensors on the CPU: intersection areas (T, K),
            prediction areas (T, K) and ground-truth areas (K, ). The union
            is ``pred + label - intersect``.
        """
        num_fg = num_classes - 1
        valid = label != ignore_index
        score, cls = cams.max(dim=0)
        score, cls, label = score[valid], cls[valid], label[valid].long()
        thrs = torch.tensor(bg_thrs, dtype=score.dtype, device=score.device)
        # searchsorted (left) counts the thresholds strictly below the score,
        # matching argmax's tie rule: at ``score == t`` background wins
        num_below = torch.searchsorted(thrs, score)
        num_bins = (len(bg_thrs) + 1) * num_fg
        key = num_below * num_fg + cls
        hit = label == cls + 1

        def fg_areas(keys: Tensor) -> Tensor:
            # foreground at threshold j <=> more than j thresholds below
            hist = torch.bincount(keys, minlength=num_bins).view(-1, num_fg)
            return hist.flip(0).cumsum(0).flip(0)[1:]

        fg_pred = fg_areas(key)
        fg_inter = fg_areas(key[hit])
        bg_pred = score.numel() - fg_pred.sum(dim=1)
        bg_hist = torch.bincount(
            num_below[label == 0], minlength=len(bg_thrs) + 1)
        bg_inter = bg_hist.cumsum(0)[:-1]
        # like IoUMetric's histc, labels outside [0, K) count nowhere
        in_range = (label >= 0) & (label < num_classes)
        area_label = torch.bincount(label[in_range], minlength=num_classes)
        area_intersect = torch.cat([bg_inter[:, None], fg_inter], dim=1)
        area_pred = torch.cat([bg_pred[:, None], fg_pred], dim=1)
        return area_intersect.cpu(), area_pred.cpu(), area_label.cpu()

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Score every threshold and report the best one.

        Args:
            results (list): Tuples from :meth:`intersect_and_union_sweep`.

        Returns:
            dict[str, float]: ``mIoU`` (best, %), ``best_bg_thr``, ``aAcc``
            (%, at the best threshold), ``IoU.<class>`` (%, at the best
            threshold; NaN for a class neither in the ground truth nor
            predicted, left out of the mean), ``mIoU@<t>`` for every
            threshold, and with ``pred_sem_seg`` in the samples
            ``fixed_mIoU`` (%) and ``fixed_bg_thr``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        intersect = torch.stack([r[0] for r in results]).sum(dim=0)
        pred = torch.stack([r[1] for r in results]).sum(dim=0)
        label = torch.stack([r[2] for r in results]).sum(dim=0)
        if label.sum() == 0:
            raise ValueError('CAMIoUMetric: gt_sem_seg has no labelled pixel '
                             'in any data sample')
        union = pred + label - intersect
        # float64: float32 (IoUMetric's histc) stops counting exactly at 2**24
        # pixels, which a VOC split exceeds
        curve = [
            IoUMetric.total_area_to_metrics(intersect[j].double(),
                                            union[j].double(),
                                            pred[j].double(), label.double())
            for j in range(len(self.bg_thrs))
        ]
        mious = [np.nanmean(m['IoU']) for m in curve]
        best = int(np.argmax(mious))
        best_metrics = curve[best]

        def percent(value) -> float:
            return round(float(value) * 100, 2)

        class_names = self.dataset_meta['classes']
        metrics = OrderedDict(
            mIoU=percent(mious[best]),
            best_bg_thr=self.bg_thrs[best],
            aAcc=percent(best_metrics['aAcc']))
        class_iou = [percent(v) for v in best_metrics['IoU']]
        metrics.update({
            f'IoU.{name}': iou
            for name, iou in zip(class_names, class_iou)
        })
        class_table = PrettyTable()
        class_table.add_column('Class', list(class_names))
        class_table.add_column('IoU', class_iou)
        class_table.add_column('Acc',
                               [percent(v) for v in best_metrics['Acc']])
        curve_table = PrettyTable()
        curve_table.add_column('bg_thr', self.bg_thrs)
        curve_table.add_column('mIoU', [percent(m) for m in mious])
        curve_table.add_column('aAcc', [percent(m['aAcc']) for m in curve])
        metrics.update({
            f'mIoU@{thr:g}': percent(miou)
            for thr, miou in zip(self.bg_thrs, mious)
        })
        if all(len(r) == 8 for r in results):
            metrics.update(self._fixed_metrics(results, mious[best]))
        print_log('background threshold sweep:', logger)
        print_log('\n' + curve_table.get_string(), logger=logger)
        print_log(f'per class results at bg_thr={self.bg_thrs[best]:g}:',
                  logger)
        print_log('\n' + class_table.get_string(), logger=logger)
        return metrics

    def _fixed_metrics(self, results: list, best_miou: float) -> dict:
        """``fixed_mIoU`` (%) of the models' predictions and their
        ``fixed_bg_thr`` (NaN unless one constant over all samples)."""
        intersect, union, pred, label = (
            torch.stack([r[i] for r in results]).sum(dim=0)
            for i in range(3, 7))
        metrics = IoUMetric.total_area_to_metrics(intersect.double(),
                                                  union.double(),
                                                  pred.double(),
                                                  label.double())
        fixed_miou = round(float(np.nanmean(metrics['IoU'])) * 100, 2)
        thrs = {r[7] for r in results}
        bg_thr = thrs.pop() if len(thrs) == 1 else math.nan
        print_log(
            f'mIoU {fixed_miou:.2f} at the model\'s fixed background '
            f'threshold {bg_thr:g} (test_cfg.bg_thr); '
            f'{best_miou * 100:.2f} at the sweep\'s best, chosen on these '
            'ground-truth masks', MMLogger.get_current_instance())
        return dict(fixed_mIoU=fixed_miou, fixed_bg_thr=bg_thr)
