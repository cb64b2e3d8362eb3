# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Export IRN-refined pseudo-label PNGs of a split with a trained IRN.

A ``runner.test()`` run of the IRN on the exported CAMs whose writer metric
saves one PNG per image (:func:`mmseg_wsss.apis.make_refined_labels`).
Resumable: rerun the same command after an interruption and only the
missing images are computed. Several processes (``--launcher pytorch`` with
torchrun, see ``tools/dist_test.sh``) split the images between them.

Example::

    python tools/make_refined_labels.py configs/irn/irn_r50_voc.py \
        work_dirs/irn_r50_voc/iter_990.pth --cam-dir work_dirs/cams/cams \
        --out work_dirs/refined_labels --bg-thr 0.25
"""
import argparse

from mmseg_wsss.apis import cli, make_refined_labels
from mmseg_wsss.utils import shutdown_distributed


def parse_args(argv=None):
    """Command-line arguments (``argv`` defaults to ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='Write one IRN-refined pseudo-label PNG per image of a '
        'split')
    parser.add_argument('config', help='config file of the IRN')
    parser.add_argument('checkpoint', help='checkpoint of the trained IRN')
    parser.add_argument(
        '--bg-thr',
        type=float,
        help='background score against the walked CAMs (default: '
        'model.test_cfg.bg_thr; use best_bg_thr of tools/test.py on the '
        'IRN config)')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='a dense CRF after the walk (parameters: model.test_cfg.crf, '
        'else the DenseCRF defaults)')
    cli.add_export_args(parser)
    cli.add_data_args(parser, cam_dir=True)
    cli.add_config_args(parser, 'model.test_cfg.exp_times=8')
    return cli.parse_args(parser, argv)


def main(argv=None):
    """Export refined labels; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    cfg = cli.load_config(args)
    args.split = cli.export_split(cfg, args.split)
    crf = None
    if args.crf:
        crf = dict(cfg.model.get('test_cfg', {}).get('crf') or {})
    summary = make_refined_labels(
        cfg,
        args.checkpoint,
        args.out,
        split=args.split,
        bg_thr=args.bg_thr,
        crf=crf,
        overwrite=args.overwrite,
        work_dir=args.work_dir,
        launcher=args.launcher)
    cli.print_export_summary(args.split, summary, args.out)
    shutdown_distributed()


if __name__ == '__main__':
    main()
