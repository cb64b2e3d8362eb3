# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Pseudo-mask scoring against ground truth (mmseg's IoUMetric arithmetic)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmseg.evaluation import IoUMetric
from PIL import Image

from mmseg_wsss.apis import evaluate_pseudo_labels
from mmseg_wsss.utils import VOC_CLASSES


def write_png(path, array):
    """Save an index mask as an 'L' mode PNG."""
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def make_masks(root, preds, gts):
    """A VOC-like folder with split ``train`` and a prediction folder."""
    os.makedirs(osp.join(root, 'ImageSets', 'Segmentation'))
    os.makedirs(osp.join(root, 'SegmentationClass'))
    os.makedirs(osp.join(root, 'pred'))
    names = [f'img_{i}' for i in range(len(gts))]
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt'),
              'w') as f:
        f.write('\n'.join(names) + '\n')
    for name, pred, gt in zip(names, preds, gts):
        if pred is not None:
            write_png(osp.join(root, 'pred', name + '.png'), pred)
        write_png(osp.join(root, 'SegmentationClass', name + '.png'), gt)
    return osp.join(root, 'pred')


def test_scores_agree_with_iou_metric(tmp_path, load_tool):
    gts = [[[0, 0, 1, 1], [0, 255, 1, 1]], [[0, 15, 15, 0], [0, 15, 255, 0]]]
    preds = [[[0, 1, 1, 1], [0, 0, 1, 255]], [[0, 15, 0, 0], [15, 15, 3, 0]]]
    pred_dir = make_masks(str(tmp_path), preds, gts)
    # By hand over the 14 pixels whose GT is not 255:
    # background: GT 7, predicted 6, both 5 -> IoU 5 / 8
    # aeroplane (1): GT 4, predicted 4 (a 255 is no class), both 3 -> 3 / 5
    # person (15): GT 3, predicted 3, both 2 -> 2 / 4
    # bird (3): predicted only where GT is 255 -> NaN, left out of the mean
    # mIoU = (5/8 + 3/5 + 2/4) / 3 = 57.5 %, aAcc = 10 / 14 = 71.43 %
    metrics = evaluate_pseudo_labels(pred_dir, str(tmp_path))
    assert metrics['mIoU'] == 57.5
    assert metrics['aAcc'] == 71.43
    assert metrics['IoU']['aeroplane'] == 60.0
    assert np.isnan(metrics['IoU']['bird'])
    # one scored pixel of 14 is predicted 255
    assert metrics['ignored'] == round(100 / 14, 2)

    metric = IoUMetric()
    metric.dataset_meta = dict(classes=VOC_CLASSES)
    metric.process({}, [
        dict(
            pred_sem_seg=dict(data=torch.tensor(p)[None]),
            gt_sem_seg=dict(data=torch.tensor(g)[None]))
        for p, g in zip(preds, gts)
    ])
    expected = metric.compute_metrics(metric.results)
    assert metrics['mIoU'] == expected['mIoU']
    assert metrics['aAcc'] == expected['aAcc']

    tool = load_tool('eval_pseudo_labels')
    out = tmp_path / 'metrics.json'
    cli = tool.main(
        [pred_dir, '--data-root',
         str(tmp_path), '--out',
         str(out)])
    assert (cli['mIoU'], cli['aAcc']) == (57.5, 71.43)
    assert '"bird": null' in out.read_text()


def test_missing_predictions_are_listed(tmp_path):
    gt = [[0, 1]]
    pred_dir = make_masks(str(tmp_path), [gt, None, None], [gt, gt, gt])
    with pytest.raises(
            FileNotFoundError,
            match=r'2 of 3 images .* no prediction .*: img_1, img_2'):
        evaluate_pseudo_labels(pred_dir, str(tmp_path))


def test_prediction_size_must_match(tmp_path):
    pred_dir = make_masks(str(tmp_path), [[[0, 1, 1]]], [[[0, 1]]])
    with pytest.raises(ValueError, match=r'img_0\.png has size \(1, 3\)'):
        evaluate_pseudo_labels(pred_dir, str(tmp_path))
