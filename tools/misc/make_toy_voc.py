# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Draw the embedded toy VOC data set (:mod:`mmseg_wsss.datasets.toy_voc`).

Usage: ``python tools/misc/make_toy_voc.py data/toy_voc [--seed 0]``
"""
import argparse

from mmseg_wsss.datasets import make_toy_voc
from mmseg_wsss.datasets.toy_voc import STYLES


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Draw a small deterministic VOC-like data set.')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--num-train-aug', type=int, default=200)
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--min-size', type=int, default=64)
    parser.add_argument('--max-size', type=int, default=128)
    parser.add_argument(
        '--style',
        default='shapes',
        choices=sorted(STYLES),
        help="'parts': CAM's failure modes (discriminative parts, a "
        'co-occurring background)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    splits = make_toy_voc(
        args.out_dir,
        seed=args.seed,
        num_train_aug=args.num_train_aug,
        num_train=args.num_train,
        num_val=args.num_val,
        min_size=args.min_size,
        max_size=args.max_size,
        style=args.style)
    sizes = ', '.join(f'{k}: {len(v)}' for k, v in splits.items())
    print(f'toy VOC data set written to {args.out_dir} ({sizes})')


if __name__ == '__main__':
    main()
