# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""CAMIoUMetric scores the model's own prediction (its fixed test_cfg.bg_thr)
next to the sweep's best threshold."""
import math

import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_wsss.models.utils import cams_to_seg_logits


def _sample(cams, gt, bg_thr):
    """A data sample as CAMSegmentor.predict() fills it at ``bg_thr``."""
    sample = SegDataSample(metainfo=dict(img_path='img.jpg'))
    logits = cams_to_seg_logits(cams[None], bg_thr)[0]
    sample.seg_logits = PixelData(data=logits)
    sample.pred_sem_seg = PixelData(data=logits.argmax(0, keepdim=True))
    sample.gt_sem_seg = PixelData(data=gt[None])
    return sample


def _evaluate(*samples):
    init_default_scope('mmseg')
    evaluator = Evaluator([dict(type='CAMIoUMetric', bg_thrs=[0.15, 0.35])])
    evaluator.dataset_meta = dict(classes=('background', 'cat', 'dog'))
    evaluator.process(list(samples))
    return evaluator.evaluate(len(samples))


def test_fixed_threshold_figure_by_hand():
    cams = torch.tensor([[[0.5, 0.1, 0.3]], [[0.0, 0.2, 0.0]]])
    gt = torch.tensor([[1, 2, 0]])
    metrics = _evaluate(_sample(cams, gt, 0.25))
    # t = 0.25 (the model's): pred [1, 0, 1]; background 0/2, cat 1/2,
    #   dog 0/1 -> 16.67.
    # t = 0.15: pred [1, 2, 1]; background 0/1, cat 1/2, dog 1/1 -> 50.
    # t = 0.35: pred [1, 0, 0]; background 1/2, cat 1/1, dog 0/1 -> 50.
    assert metrics['fixed_mIoU'] == 16.67
    assert metrics['fixed_bg_thr'] == 0.25
    assert (metrics['mIoU'], metrics['best_bg_thr']) == (50.0, 0.15)


def test_fixed_threshold_is_nan_unless_one_constant():
    cams = torch.tensor([[[0.5, 0.1, 0.3]], [[0.0, 0.2, 0.0]]])
    gt = torch.tensor([[1, 2, 0]])
    metrics = _evaluate(_sample(cams, gt, 0.25), _sample(cams, gt, 0.35))
    assert math.isnan(metrics['fixed_bg_thr'])
    # pred [1, 0, 1] and [1, 0, 0]: background 1/4, cat 2/3, dog 0/2
    assert metrics['fixed_mIoU'] == round((1 / 4 + 2 / 3) / 3 * 100, 2)
