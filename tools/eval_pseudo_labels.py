# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Score a folder of pseudo-label PNGs against the VOC ground truth.

Prints mIoU, aAcc and the IoU of each class (mmseg's ``IoUMetric``
arithmetic). Example::

    python tools/eval_pseudo_labels.py work_dirs/pseudo \
        --data-root data/VOCdevkit/VOC2012 --split train
"""
import argparse
import json
import math

from prettytable import PrettyTable

from mmseg_wsss.apis import evaluate_pseudo_labels


def parse_args(argv=None):
    """Command-line arguments (``argv`` defaults to ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='mIoU of pseudo-label PNGs against ground-truth masks')
    parser.add_argument('pred_dir', help='folder of {image name}.png masks')
    parser.add_argument(
        '--data-root', required=True, help='VOC root (VOCdevkit/VOC2012)')
    parser.add_argument(
        '--split', default='train', help='split to score (default: train)')
    parser.add_argument(
        '--gt-dir',
        default='SegmentationClass',
        help='ground-truth folder under the data root '
        '(default: SegmentationClass)')
    parser.add_argument('--out', help='also write the metrics to this JSON')
    return parser.parse_args(argv)


def main(argv=None):
    """Score a pseudo-label folder; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    metrics = evaluate_pseudo_labels(
        args.pred_dir, args.data_root, split=args.split, gt_dir=args.gt_dir)
    table = PrettyTable(['Class', 'IoU'])
    for name, iou in metrics['IoU'].items():
        if not math.isnan(iou):
            table.add_row([name, iou])
    print(table.get_string())
    print(f"{args.split} ({metrics['num_images']} images): "
          f"mIoU {metrics['mIoU']:.2f}  mAcc {metrics['mAcc']:.2f}  "
          f"aAcc {metrics['aAcc']:.2f}  ignored {metrics['ignored']:.2f}%")
    if args.out:
        # NaN (a class in neither GT nor prediction) is written as null
        iou = {
            k: None if math.isnan(v) else v
            for k, v in metrics['IoU'].items()
        }
        with open(args.out, 'w') as f:
            json.dump(dict(metrics, IoU=iou), f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
