# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from mmseg_wsss.evaluation import CAMIoUMetric
from mmseg_wsss.evaluation.metrics import parse_bg_thrs

CLASSES = ('background', 'cat', 'dog', 'bird', 'cow')


def _sample(cams, gt, img_path='img.jpg'):
    """A data sample as a CAM segmentor returns it (channel 0 unused)."""
    sample = SegDataSample(metainfo=dict(img_path=img_path))
    logits = torch.cat([torch.zeros_like(cams[:1]), cams])
    sample.seg_logits = PixelData(data=logits)
    sample.gt_sem_seg = PixelData(data=gt[None])
    return sample


def _random_samples():
    """Images of different sizes with ties, ignore pixels, an empty class."""
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i, (h, w) in enumerate([(7, 9), (12, 5), (16, 16), (3, 4)]):
        # multiples of 0.05 in float32 tie with the thresholds and with each
        # other, exercising argmax's rule that the lower index wins
        cams = torch.randint(0, 21, (4, h, w), generator=gen) / 20
        # class 4 (cow) is never predicted nor in the ground truth: its IoU
        # is NaN and must stay out of the mean
        cams[3] = 0
        gt = torch.randint(0, 4, (h, w), generator=gen)
        gt[torch.rand(h, w, generator=gen) < 0.2] = 255
        samples.append(_sample(cams, gt, f'img{i}.jpg'))
    return samples


@pytest.mark.filterwarnings('error::RuntimeWarning')
def test_cam_iou_metric_matches_iou_metric_at_every_threshold():
    samples = _random_samples()
    thrs = [0.05, 0.1, 0.15, 0.3, 0.5, 0.6]
    metric = CAMIoUMetric(bg_thrs=thrs)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [s.to_dict() for s in samples])
    sums = [torch.stack(areas).sum(dim=0) for areas in zip(*metric.results)]
    ours = metric.compute_metrics(metric.results)

    ref_mious = []
    for j, thr in enumerate(thrs):
        ref = IoUMetric()
        ref.dataset_meta = dict(classes=CLASSES)
        for s in samples:
            logits = s.seg_logits.data
            stacked = torch.cat([torch.full_like(logits[:1], thr), logits[1:]])
            pred = PixelData(data=stacked.argmax(dim=0, keepdim=True))
            ref.process({}, [
                dict(
                    pred_sem_seg=pred.to_dict(),
                    gt_sem_seg=s.gt_sem_seg.to_dict())
            ])
        inter, union, pred_area, label_area = (
            torch.stack(areas).sum(dim=0) for areas in zip(*ref.results))
        # the counts agree exactly (the float32 histc counts are integers)
        assert torch.equal(sums[0][j], inter.long())
        assert torch.equal(sums[1][j], pred_area.long())
        assert torch.equal(sums[2], label_area.long())
        assert torch.equal(sums[1][j] + sums[2] - sums[0][j], union.long())
        ref_metrics = ref.compute_metrics(ref.results)
        # same 2-decimal number; IoUMetric's is a float32
        assert ours[f'mIoU@{thr:g}'] == pytest.approx(
            float(ref_metrics['mIoU']), abs=1e-4)
        ref_mious.append(float(ref_metrics['mIoU']))
        if thr == ours['best_bg_thr']:
            assert ours['aAcc'] == pytest.approx(
                float(ref_metrics['aAcc']), abs=1e-4)
            ref_iou = IoUMetric.total_area_to_metrics(inter, union, pred_area,
                                                      label_area)['IoU']
            for name, iou in zip(CLASSES[:4], ref_iou):
                assert ours[f'IoU.{name}'] == pytest.approx(
                    round(float(iou) * 100, 2), abs=1e-4)
    assert ours['mIoU'] == pytest.approx(max(ref_mious), abs=1e-4)
    assert ours['IoU.cow'] != ours['IoU.cow']  # NaN
    assert ours['mIoU'] == ours['mIoU']  # not NaN
    # the random maps must make the thresholds matter, else this proves little
    assert len(set(ref_mious)) > 3


def test_cam_iou_metric_in_evaluator_by_hand():
    init_default_scope('mmseg')
    evaluator = Evaluator([dict(type='CAMIoUMetric', bg_thrs=[0.3, 0.1])])
    evaluator.dataset_meta = dict(classes=CLASSES[:3])
    cams = torch.tensor([[[0.9, 0.2, 0.0], [0.5, 0.0, 0.0]],
                         [[0.0, 0.0, 0.0], [0.0, 0.25, 0.05]]])
    gt = torch.tensor([[1, 1, 0], [1, 2, 255]])
    evaluator.process([_sample(cams, gt)])
    metrics = evaluator.evaluate(1)
    # t = 0.1: pred [[1, 1, 0], [1, 2, -]] equals the ground truth: every
    #   IoU is 1, mIoU 100, aAcc 5/5.
    # t = 0.3: pred [[1, 0, 0], [1, 0, -]]. background: inter 1, pred 3,
    #   label 1 -> 1/3; cat: inter 2, pred 2, label 3 -> 2/3; dog: 0/1.
    #   mIoU = (1/3 + 2/3 + 0) / 3 = 33.33.
    assert metrics == {
        'mIoU': 100.0,
        'best_bg_thr': 0.1,
        'aAcc': 100.0,
        'IoU.background': 100.0,
        'IoU.cat': 100.0,
        'IoU.dog': 100.0,
        'mIoU@0.1': 100.0,
        'mIoU@0.3': 33.33,
    }


def test_cam_iou_metric_stores_only_counts():
    metric = METRICS.build(dict(type='CAMIoUMetric'))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [s.to_dict() for s in _random_samples()])
    for inter, pred, label in metric.results:
        assert inter.shape == pred.shape == (12, 5)
        assert label.shape == (5, )
        assert inter.dtype == pred.dtype == label.dtype == torch.long


def test_parse_bg_thrs():
    assert parse_bg_thrs(dict(start=0.05, stop=0.60, step=0.05)) == [
        0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6
    ]
    assert CAMIoUMetric().bg_thrs == parse_bg_thrs(
        dict(start=0.05, stop=0.6, step=0.05))
    assert parse_bg_thrs([0.3, 0.1, 0.3]) == [0.1, 0.3]
    with pytest.raises(KeyError, match='bg_thrs'):
        parse_bg_thrs(dict(start=0.1, stop=0.5))
    with pytest.raises(ValueError, match='bg_thrs needs step > 0'):
        parse_bg_thrs(dict(start=0.1, stop=0.5, step=0))
    with pytest.raises(ValueError, match='bg_thrs must be'):
        parse_bg_thrs([0.2, 1.5])
    with pytest.raises(ValueError, match='bg_thrs must be'):
        parse_bg_thrs([])


def test_cam_iou_metric_bad_inputs():
    metric = CAMIoUMetric()
    metric.dataset_meta = dict(classes=CLASSES[:3])
    cams = torch.rand(4, 2, 3)
    sample = _sample(cams, torch.zeros(2, 3, dtype=torch.long), 'a/b.jpg')
    with pytest.raises(ValueError, match='a/b.jpg: seg_logits has 5 chan'):
        metric.process({}, [sample.to_dict()])
    sample = _sample(cams[:2], torch.zeros(3, 3, dtype=torch.long), 'c.jpg')
    with pytest.raises(ValueError, match='c.jpg: seg_logits is'):
        metric.process({}, [sample.to_dict()])
    sample = _sample(cams[:2], torch.full((2, 3), 255), 'd.jpg')
    metric.process({}, [sample.to_dict()])
    with pytest.raises(ValueError, match='no labelled pixel'):
        metric.compute_metrics(metric.results)
