# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Write the class label file (``cls_labels.npy``) of your own data set.

Usage::

    python tools/dataset_converters/make_cls_labels.py CLASSES \
        (--csv FILE | --xml-dir DIR | --mask-dir DIR) --out cls_labels.npy \
        [--split-file ImageSets/Segmentation/train.txt]

CLASSES lists the foreground classes, one a line, in label order (mask
index k is line k). The labels come from a CSV of ``name,class;class``
rows, from VOC-style XMLs (``<object><name>``) or from index masks
(0 background, 1..C, 255 ignored); see
:mod:`mmseg_wsss.datasets.cls_labels_writer` and
docs/user_guides/11_own_data.md.
"""
import argparse
import os.path as osp

from mmengine.logging import print_log

from mmseg_wsss.datasets.cls_labels_writer import (make_cls_labels,
                                                   read_class_list,
                                                   save_cls_labels)
from mmseg_wsss.utils import read_split_names, write_file_atomically


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Write cls_labels.npy (image name -> C floats) from a '
        'CSV, VOC-style XMLs or index masks.')
    parser.add_argument(
        'classes', help='class-list file: foreground classes, one a line')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--csv', help='CSV of "name,class;class" rows')
    source.add_argument('--xml-dir', help='folder of {name}.xml')
    source.add_argument('--mask-dir', help='folder of {name}.png masks')
    parser.add_argument(
        '--out',
        required=True,
        help='output file: .npy (IRN style) or .npz (read without pickle)')
    parser.add_argument(
        '--names',
        help='split file: label only these images (default: every row or '
        'file)')
    parser.add_argument(
        '--split-file',
        help='also write the labelled image names there, one a line (a '
        'split file for the config)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Command line entry point; returns the labels written."""
    args = parse_args(argv)
    classes = read_class_list(args.classes)
    names = None if args.names is None else read_split_names(args.names)
    labels = make_cls_labels(
        classes,
        xml_dir=args.xml_dir,
        csv_file=args.csv,
        mask_dir=args.mask_dir,
        names=names)
    save_cls_labels(labels, args.out)
    if args.split_file:
        write_file_atomically(''.join(f'{n}\n' for n in labels).encode(),
                              args.split_file)
    empty = sum(not v.any() for v in labels.values())
    print_log(
        f'{args.out}: {len(labels)} images over {len(classes)} classes '
        f'({empty} without any)' +
        (f'; names in {osp.abspath(args.split_file)}'
         if args.split_file else ''), 'current')
    return labels


if __name__ == '__main__':
    main()
