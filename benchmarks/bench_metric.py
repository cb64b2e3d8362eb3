# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: what does ``CAMIoUMetric``'s threshold sweep cost?

One ``CAMIoUMetric`` pass scores 12 background thresholds (0.05..0.60) at
once. The alternative is 12 runs of mmseg's ``IoUMetric``, one per threshold,
each on ``argmax([t, cams])``. Both see the same random images (21 channels:
a constant background score and 20 class maps, two of them non-zero, as
normalised CAMs are; random ground truth with 5% ignored pixels). The table
gives time (median of interleaved rounds) and peak memory (fresh process per
variant); the per-threshold mIoUs of the two must agree (asserted).

Usage::

    python benchmarks/bench_metric.py [--images 1000] [--size 128]
"""
import argparse
import json
import os.path as osp
import time
from typing import Dict, List

import common
import torch

BG_THRS = [round(0.05 * i, 2) for i in range(1, 13)]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument(
        '--distinct',
        type=int,
        default=100,
        help='distinct random images, cycled to --images (bounds the memory '
        'the data itself takes)')
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--no-write', action='store_true')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def random_samples(num: int, size: int, seed: int = 0) -> List[dict]:
    """Model outputs as the metrics read them: CAM scores + ground truth."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(num):
        logits = torch.zeros(21, size, size)
        logits[0] = 0.15
        present = torch.randperm(20, generator=gen)[:2] + 1
        logits[present] = torch.rand(2, size, size, generator=gen)
        label = torch.randint(0, 21, (1, size, size), generator=gen)
        label[torch.rand(1, size, size, generator=gen) < 0.05] = 255
        samples.append(
            dict(seg_logits=dict(data=logits), gt_sem_seg=dict(data=label)))
    return samples


def class_names() -> tuple:
    from mmseg_wsss.datasets import WeakVOCDataset
    return WeakVOCDataset.METAINFO['classes']


def run_sweep(samples: List[dict], num_images: int) -> Dict[float, float]:
    """CAMIoUMetric over all thresholds: mIoU per threshold."""
    from mmseg_wsss.evaluation.metrics import CAMIoUMetric
    metric = CAMIoUMetric(bg_thrs=BG_THRS)
    metric.dataset_meta = dict(classes=class_names())
    for i in range(num_images):
        metric.process({}, [samples[i % len(samples)]])
    result = metric.evaluate(num_images)
    return {t: float(result[f'mIoU@{t:g}']) for t in BG_THRS}


def run_iou_metric(samples: List[dict], num_images: int,
                   argmax_time: List[float]) -> Dict[float, float]:
    """One IoUMetric per threshold on ``argmax([t, cams])``."""
    from mmseg.evaluation import IoUMetric
    mious = {}
    for thr in BG_THRS:
        metric = IoUMetric(iou_metrics=['mIoU'])
        metric.dataset_meta = dict(classes=class_names())
        for i in range(num_images):
            sample = samples[i % len(samples)]
            start = time.perf_counter()
            logits = sample['seg_logits']['data'].clone()
            logits[0] = thr
            pred = logits.argmax(dim=0, keepdim=True)
            argmax_time.append(time.perf_counter() - start)
            metric.process({}, [
                dict(
                    pred_sem_seg=dict(data=pred),
                    gt_sem_seg=sample['gt_sem_seg'])
            ])
        mious[thr] = float(metric.evaluate(num_images)['mIoU'])
    return mious


def child_main(spec: dict) -> None:
    """Time, peak memory and mIoUs of one variant in a fresh process."""
    args = parse_args(spec['argv'])
    common.setup()
    samples = random_samples(args.distinct, args.size)
    argmax_times, out = [], {}

    def run():
        if spec['variant'] == 'sweep':
            out['mious'] = run_sweep(samples, args.images)
        else:
            out['mious'] = run_iou_metric(samples, args.images, argmax_times)

    start = time.perf_counter()
    peak = common.peak_rss_delta_mib(run)
    print(
        json.dumps(
            dict(
                seconds=time.perf_counter() - start,
                argmax_seconds=sum(argmax_times),
                peak_mib=peak,
                mious=out['mious'])))


def main() -> None:
    args = parse_args()
    if common.ran_as_child(args, child_main):
        return
    # fresh processes in turns: each run gives its time and peak memory
    runs = common.child_runs(
        osp.abspath(__file__), ('sweep', 'iou'), args.repeats)
    for sweep, iou in zip(runs['sweep'], runs['iou']):
        for thr in BG_THRS:
            a, b = sweep['mious'][str(thr)], iou['mious'][str(thr)]
            assert abs(a - b) <= 0.01, \
                f'mIoU@{thr}: sweep {a} vs IoUMetric {b}'

    def med(name, key):
        return common.median([r[key] for r in runs[name]])

    ratios = [
        b['seconds'] / a['seconds'] for a, b in zip(runs['sweep'], runs['iou'])
    ]
    rows = [
        [
            'CAMIoUMetric, 12 thresholds in one pass',
            f'{med("sweep", "seconds"):.2f}', '',
            f'{med("sweep", "peak_mib"):.1f}'
        ],
        [
            '12 x IoUMetric (incl. argmax per threshold)',
            f'{med("iou", "seconds"):.2f}',
            f'{common.median(ratios):.1f}x slower',
            f'{med("iou", "peak_mib"):.1f}'
        ],
        [
            '  of which argmax([t, cams])',
            f'{med("iou", "argmax_seconds"):.2f}', '', ''
        ],
    ]
    body = (
        f'{args.images} images of {args.size}x{args.size} (21 channels; '
        f'{args.distinct} distinct random images cycled), thresholds '
        f'{BG_THRS[0]}..{BG_THRS[-1]}; {args.repeats} round(s), each '
        'variant in a fresh process per round, run in turns. Peak memory: '
        'VmHWM above the RSS before the metric runs (the images already in '
        'memory). mIoU at every threshold agrees within 0.01 '
        '(asserted).\n\n' + common.markdown_table([
            'evaluation', 'seconds (median)', 'vs sweep (median ratio)',
            'peak RSS MiB'
        ], rows) + '\n')
    common.append_results(
        'bench_metric.py: CAMIoUMetric sweep vs 12 IoUMetric runs',
        body,
        write=not args.no_write)


if __name__ == '__main__':
    main()
