# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Score a folder of pseudo-label PNGs against the ground truth.

Prints mIoU, aAcc and the IoU of each class (mmseg's ``IoUMetric``
arithmetic). VOC's layout by default; ``--config`` takes the data root,
ground-truth folder, split folder and classes of a config's test dataset
(COCO's, your own). Examples::

    python tools/eval_pseudo_labels.py work_dirs/pseudo \
        --data-root data/VOCdevkit/VOC2012 --split train
    python tools/eval_pseudo_labels.py work_dirs/pseudo \
        --config configs/coco/cam_r50_coco.py --data-root data/coco
"""
import argparse
import json
import math

from mmengine.config import Config
from prettytable import PrettyTable

from mmseg_wsss.apis import evaluate_pseudo_labels
from mmseg_wsss.apis.evaluate_masks import ground_truth_of
from mmseg_wsss.utils.config_paths import dataset_cfg


def parse_args(argv=None):
    """Command-line arguments (``argv`` defaults to ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='mIoU of pseudo-label PNGs against ground-truth masks')
    parser.add_argument('pred_dir', help='folder of {image name}.png masks')
    parser.add_argument(
        '--data-root',
        help='data root (VOCdevkit/VOC2012); with --config, overrides its')
    parser.add_argument(
        '--config',
        help="read the ground truth's layout and classes from this "
        "config's test dataset (default: VOC's)")
    parser.add_argument(
        '--split', default='train', help='split to score (default: train)')
    parser.add_argument(
        '--gt-dir',
        help='ground-truth folder under the data root (default: the '
        "config's, else SegmentationClass)")
    parser.add_argument('--out', help='also write the metrics to this JSON')
    args = parser.parse_args(argv)
    if args.data_root is None and args.config is None:
        parser.error('give --data-root, --config or both')
    return args


def main(argv=None):
    """Score a pseudo-label folder; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    if args.config:
        test_loader = Config.fromfile(args.config).test_dataloader
        gt = ground_truth_of(dataset_cfg(test_loader), args.split)
    else:
        gt = dict(split=args.split)
    gt.update({
        key: value
        for key, value in (('data_root', args.data_root),
                           ('gt_dir', args.gt_dir)) if value is not None
    })
    metrics = evaluate_pseudo_labels(args.pred_dir, **gt)
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
