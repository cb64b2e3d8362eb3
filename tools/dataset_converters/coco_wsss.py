# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Prepare MS COCO 2014 for weakly supervised training.

Usage::

    python tools/dataset_converters/coco_wsss.py COCO_ROOT [--out DIR] \
        [--nproc N] [--crowd-as-background] [--skip-empty-train]

COCO_ROOT holds ``train2014/``, ``val2014/`` and
``annotations/instances_{train,val}2014.json`` as downloaded. Writes
``SegmentationClass/``, ``cls_labels.npy`` and ``ImageSets/{train,val}.txt``
into DIR (default COCO_ROOT), see
:mod:`mmseg_wsss.datasets.coco_converter`; a rerun skips what is done.
"""
import argparse

from mmseg_wsss.datasets.coco_converter import convert_coco


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Write SegmentationClass/, cls_labels.npy and '
        'ImageSets/{train,val}.txt for WSSS from the COCO 2014 instance '
        'annotations.')
    parser.add_argument(
        'coco_root', help='folder with train2014/, val2014/ and annotations/')
    parser.add_argument(
        '--out',
        help='output folder (default: COCO_ROOT, where the '
        'configs expect it)')
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes (default 1)')
    parser.add_argument(
        '--crowd-as-background',
        action='store_true',
        help='crowd regions become background (0) instead of ignored '
        "(255), as in ReCAM's COCO masks")
    parser.add_argument(
        '--skip-empty-train',
        action='store_true',
        help='leave train2014 images without any annotation out of '
        'ImageSets/train.txt (by default they are kept as negatives, as '
        "ReCAM's COCO training does)")
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error(f'--nproc must be >= 1, got {args.nproc}')
    return args


def main(argv=None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    convert_coco(
        args.coco_root,
        args.out,
        nproc=args.nproc,
        crowd_as_background=args.crowd_as_background,
        skip_empty_train=args.skip_empty_train)


if __name__ == '__main__':
    main()
