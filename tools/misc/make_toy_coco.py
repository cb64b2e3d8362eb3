# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Write a toy MS COCO 2014 (:mod:`mmseg_wsss.datasets.toy_coco`: 14 + 4
images of at most 64 px in the published layout) and convert it with
``tools/dataset_converters/coco_wsss.py``'s converter, for the
``configs/toy/*toycoco*`` configs.

Usage: ``python tools/misc/make_toy_coco.py data/toy_coco [--seed 0]``
"""
import argparse
import os.path as osp

from mmseg_wsss.datasets.coco_converter import convert_coco
from mmseg_wsss.datasets.toy_coco import make_toy_coco


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Write and convert a toy COCO 2014 data set.')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Command line entry point."""
    args = parse_args(argv)
    if osp.exists(osp.join(args.out_dir, 'annotations')):
        print(f'{args.out_dir} has annotations/: not drawn again')
    else:
        make_toy_coco(args.out_dir, seed=args.seed)
    counts = convert_coco(args.out_dir)
    print(f'toy COCO data set in {args.out_dir} (train: {counts["train"]}, '
          f'val: {counts["val"]})')


if __name__ == '__main__':
    main()
