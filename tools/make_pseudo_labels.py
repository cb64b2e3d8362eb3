# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Export pseudo-label PNGs of a split with a trained CAM network.

A ``runner.test()`` run whose writer metric saves one PNG per image
(:func:`mmseg_wsss.apis.make_pseudo_labels`). Resumable: rerun the same
command after an interruption and only the missing images are computed.
Several processes (``--launcher pytorch`` with torchrun, see
``tools/dist_test.sh``) split the images between them.

Example::

    python tools/make_pseudo_labels.py configs/wsss/rcm_mam_r50_voc.py \
        work_dirs/rcm_mam_r50_voc/iter_52920.pth \
        --out data/VOCdevkit/VOC2012/PseudoLabels --crf
"""
import argparse
import os.path as osp

from mmseg_wsss.apis import cli, make_pseudo_labels
from mmseg_wsss.utils import shutdown_distributed


def parse_args(argv=None):
    """Command-line arguments (``argv`` defaults to ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='Write one pseudo-label PNG per image of a split')
    parser.add_argument('config', help='config file of the CAM network')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='refine with a dense CRF (parameters: model.test_cfg.crf, '
        'else the DenseCRF defaults)')
    parser.add_argument(
        '--bg-thr',
        type=float,
        help='background threshold (default: model.test_cfg.bg_thr)')
    parser.add_argument(
        '--ignore-band',
        type=float,
        help='label 255 the pixels whose top CAM score is within this '
        'distance of the background threshold')
    parser.add_argument(
        '--save-cams',
        action='store_true',
        help='also save the CAMs of the present classes as float16 .npz in '
        'OUT/cams')
    parser.add_argument(
        '--relation-labels',
        metavar='DIR',
        help="also write IRN's relation labels (0 background, 1..C classes, "
        '255 unknown) as PNGs in DIR, for an IRN config')
    parser.add_argument(
        '--conf-fg-thr',
        type=float,
        default=0.30,
        help='relation labels: background score for confident foreground '
        '(default: 0.30)')
    parser.add_argument(
        '--conf-bg-thr',
        type=float,
        default=0.05,
        help='relation labels: background score for confident background '
        '(default: 0.05)')
    parser.add_argument(
        '--workers',
        type=int,
        default=0,
        help='processes that run the CRF and write the files while the '
        'network works on the next images (useful with --crf; default: 0, '
        'all in this process)')
    cli.add_export_args(parser)
    cli.add_data_args(parser)
    cli.add_config_args(parser, 'model.test_cfg.scales="[1.0,0.5]"')
    return cli.parse_args(parser, argv)


def main(argv=None):
    """Export pseudo labels; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    cfg = cli.load_config(args)
    args.split = cli.export_split(cfg, args.split)
    summary = make_pseudo_labels(
        cfg,
        args.checkpoint,
        args.out,
        split=args.split,
        crf=dict(cfg.model.test_cfg.get('crf') or {}) if args.crf else None,
        bg_thr=args.bg_thr,
        ignore_band=args.ignore_band,
        cam_dir=osp.join(args.out, 'cams') if args.save_cams else None,
        relation_dir=args.relation_labels,
        relation=dict(
            conf_fg_thr=args.conf_fg_thr, conf_bg_thr=args.conf_bg_thr)
        if args.relation_labels else None,
        overwrite=args.overwrite,
        workers=args.workers,
        work_dir=args.work_dir,
        launcher=args.launcher)
    cli.print_export_summary(args.split, summary, args.out)
    shutdown_distributed()


if __name__ == '__main__':
    main()
