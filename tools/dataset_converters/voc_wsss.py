# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Prepare PASCAL VOC 2012 + SBD for weakly supervised training.

Usage::

    python tools/dataset_converters/voc_wsss.py VOCDEVKIT SBD_RELEASE \
        [--nproc N]

VOCDEVKIT is the ``VOCdevkit`` folder of ``VOCtrainval_11-May-2012.tar``
and SBD_RELEASE the ``benchmark_RELEASE`` folder of SBD's
``benchmark.tgz``; either may be the archive itself, which is extracted
next to itself. Writes ``ImageSets/Segmentation/train_aug.txt``,
``SegmentationClassAug/`` and ``cls_labels.npy`` into ``VOCDEVKIT/VOC2012``
(see :mod:`mmseg_wsss.datasets.voc_aug_converter`); a rerun skips what is
done.
"""
import argparse

from mmseg_wsss.datasets.voc_aug_converter import convert_voc_aug


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Write train_aug.txt, SegmentationClassAug/ and '
        'cls_labels.npy into VOCdevkit/VOC2012 from VOC 2012 and SBD.')
    parser.add_argument(
        'vocdevkit',
        help='the VOCdevkit folder, or VOCtrainval_11-May-2012.tar')
    parser.add_argument(
        'sbd_release', help="SBD's benchmark_RELEASE folder, or benchmark.tgz")
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes (default 1)')
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error(f'--nproc must be >= 1, got {args.nproc}')
    return args


def main(argv=None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    convert_voc_aug(args.vocdevkit, args.sbd_release, nproc=args.nproc)


if __name__ == '__main__':
    main()
