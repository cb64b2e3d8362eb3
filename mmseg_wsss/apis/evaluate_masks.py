# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Quality of a folder of masks (pseudo labels) against ground truth.

The counting and the metrics are mmseg's :class:`IoUMetric` functions, so
the numbers equal what ``IoUMetric`` reports for the same masks.
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmseg.datasets import PascalVOCDataset
from mmseg.evaluation import IoUMetric

from mmseg_wsss.utils import (IGNORE_INDEX, SPLIT_FILE, read_index_png,
                              read_split_names, show_names)
from mmseg_wsss.utils.config_paths import dataset_metainfo, split_file


def ground_truth_of(dataset: dict, split: str) -> dict:
    """Where a dataset config keeps the ground truth of ``split``: the
    keyword arguments of :func:`evaluate_pseudo_labels` but ``pred_dir``.

    Args:
        dataset (dict): A dataset config with masks (e.g. the innermost
            dataset of a CAM config's ``test_dataloader``).
        split (str): Split name; its file lies beside ``ann_file``.

    Returns:
        dict: ``data_root``, ``split``, ``gt_dir`` (the dataset's
        ``seg_map_path``, else 'SegmentationClass'), ``class_names`` and
        ``ann_file``.
    """
    gt_dir = (dataset.get('data_prefix') or {}).get('seg_map_path')
    return dict(
        data_root=dataset['data_root'],
        split=split,
        gt_dir=gt_dir or 'SegmentationClass',
        class_names=dataset_metainfo(dataset)['classes'],
        ann_file=split_file(dataset, split))


def evaluate_pseudo_labels(pred_dir: str,
                           data_root: str,
                           split: str = 'train',
                           gt_dir: str = 'SegmentationClass',
                           class_names: Optional[Sequence[str]] = None,
                           ignore_index: int = IGNORE_INDEX,
                           ann_file: Optional[str] = None) -> dict:
    """mIoU, per-class IoU and aAcc of ``pred_dir/{name}.png`` vs GT.

    Pixels labelled ``ignore_index`` in the ground truth are left out. A
    prediction of ``ignore_index`` (an ignore band) counts as a miss for
    the pixel's true class, as in ``IoUMetric``; ``ignored`` reports how
    often that happens.

    Args:
        pred_dir (str): Folder of predicted index PNGs named as the images.
        data_root (str): Data root with the split file and ``gt_dir``.
        split (str): Split whose images are scored. Defaults to 'train'.
        gt_dir (str): Ground-truth folder under ``data_root``.
            Defaults to 'SegmentationClass'.
        class_names (Sequence[str], optional): Names of the mask indices.
            Defaults to None, meaning the 21 VOC classes.
        ignore_index (int): Ignored label. Defaults to 255.
        ann_file (str, optional): The split file, relative to
            ``data_root``. Defaults to None, meaning VOC's
            ``ImageSets/Segmentation/{split}.txt``.

    Returns:
        dict: ``mIoU``, ``mAcc`` and ``aAcc`` in percent (rounded to 2
        decimals, mean over classes present in GT or prediction, as
        ``IoUMetric``), ``IoU`` (class name -> percent, NaN where the class
        is in neither), ``ignored`` (percent of scored pixels predicted
        ``ignore_index``) and ``num_images``.

    Raises:
        FileNotFoundError: The split file, a GT mask or predictions are
            missing (the message lists some names).
        ValueError: A prediction's size differs from its GT mask, or a mask
            has values outside the classes and ``ignore_index``.
    """
    if class_names is None:
        class_names = PascalVOCDataset.METAINFO['classes']
    num_classes = len(class_names)
    if ann_file is None:
        ann_file = SPLIT_FILE.format(split=split)
    names = read_split_names(osp.join(data_root, ann_file))
    gt_root = osp.join(data_root, gt_dir)
    for folder, kind in ((pred_dir, 'prediction'), (gt_root, 'ground-truth')):
        missing = [
            n for n in names if not osp.isfile(osp.join(folder, n + '.png'))
        ]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(names)} images of split {split!r} '
                f'have no {kind} mask in {folder}: {show_names(missing)}')

    totals = [torch.zeros(num_classes, dtype=torch.float64) for _ in range(4)]
    ignored = scored = 0
    for name in names:
        pred_path = osp.join(pred_dir, name + '.png')
        gt_path = osp.join(gt_root, name + '.png')
        pred = read_index_png(pred_path)
        gt = read_index_png(gt_path)
        if pred.shape != gt.shape:
            raise ValueError(f'{pred_path} has size {pred.shape}, but its '
                             f'ground truth {gt_path} has {gt.shape}')
        for arr, path in ((pred, pred_path), (gt, gt_path)):
            bad = np.setdiff1d(
                np.unique(arr), [*range(num_classes), ignore_index])
            if bad.size:
                raise ValueError(
                    f'{path} has values {bad.tolist()} that are neither '
                    f'classes (0..{num_classes - 1}) nor {ignore_index}')
        pred, gt = torch.from_numpy(pred), torch.from_numpy(gt)
        areas = IoUMetric.intersect_and_union(pred, gt, num_classes,
                                              ignore_index)
        for total, area in zip(totals, areas):
            total += area.double()
        valid = gt != ignore_index
        scored += int(valid.sum())
        ignored += int((pred[valid] == ignore_index).sum())

    metrics = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])
    return dict(
        mIoU=float(np.round(np.nanmean(metrics['IoU']) * 100, 2)),
        mAcc=float(np.round(np.nanmean(metrics['Acc']) * 100, 2)),
        aAcc=float(np.round(metrics['aAcc'] * 100, 2)),
        IoU={
            name: float(np.round(iou * 100, 2))
            for name, iou in zip(class_names, metrics['IoU'])
        },
        ignored=round(100 * ignored / max(scored, 1), 2),
        num_images=len(names))
