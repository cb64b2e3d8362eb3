# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Draw a picture grid of CAMs: one row per image.

Columns: the image; the CAM heat map of each present class over the image
(up to ``--max-classes``, captioned with the class name); the ground-truth
mask in the VOC palette; the pseudo label from ``--pseudo-dir``, or else the
thresholded CAM (``pred_sem_seg``); with ``--irn-config`` and
``--irn-checkpoint``, the IRN's boundary map ('boundary') and its refined
mask ('refined') of the CAMs exported to ``--cam-dir``. Example::

    python tools/vis_cams.py configs/wsss/rcm_mam_r50_voc.py \
        work_dirs/rcm_mam_r50_voc/iter_52920.pth --out cams.png --num 6 \
        --irn-config configs/irn/irn_r50_voc.py \
        --irn-checkpoint work_dirs/irn_r50_voc/iter_990.pth \
        --cam-dir work_dirs/pseudo_labels/cams
"""
import argparse

from mmengine.config import Config, DictAction
from mmengine.device import get_device

from mmseg_wsss.apis import cam_grid, cli, init_model
from mmseg_wsss.visualization import CAPTION_HEIGHT


def parse_args(argv=None):
    """Command-line arguments (``argv`` defaults to ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='Picture grid of the CAMs of a few images')
    parser.add_argument('config', help='config file of the CAM network')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument(
        '--split', default='train', help='split to draw (default: train)')
    parser.add_argument(
        '--num', type=int, default=6, help='images (rows) (default: 6)')
    parser.add_argument(
        '--pseudo-dir',
        help='folder of pseudo-label PNGs for the last column (default: '
        'the CAMs thresholded at model.test_cfg.bg_thr)')
    parser.add_argument(
        '--gt-dir',
        default='SegmentationClass',
        help='ground-truth folder under the data root')
    parser.add_argument(
        '--max-classes',
        type=int,
        default=3,
        help='CAM columns; images with more classes show the first ones '
        '(default: 3)')
    parser.add_argument(
        '--cell', type=int, default=160, help='cell size in pixels')
    parser.add_argument(
        '--device', help='device (default: cuda if available, else cpu)')
    cli.add_data_args(parser)
    cli.add_config_args(parser, 'model.test_cfg.bg_thr=0.2', launcher=False)
    irn = parser.add_argument_group(
        'refinement', 'boundary and refined columns of an IRN relation '
        'network')
    irn.add_argument('--irn-config', help='IRN config (with --irn-checkpoint)')
    irn.add_argument(
        '--irn-checkpoint', help='IRN checkpoint (with --irn-config)')
    irn.add_argument(
        '--cam-dir',
        dest='irn_cam_dir',
        metavar='CAM_DIR',
        help='folder of the exported CAMs (.npz) the IRN refines (default: '
        "cam_dir of the IRN config's infer_pipeline)")
    irn.add_argument(
        '--irn-cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the IRN config, key=value pairs such as '
        'model.test_cfg.bg_thr=0.3')
    args = parser.parse_args(argv)
    if (args.irn_config is None) != (args.irn_checkpoint is None):
        parser.error('--irn-config and --irn-checkpoint go together: give '
                     'both for the IRN columns, or neither')
    if args.irn_config is None and (args.irn_cam_dir is not None
                                    or args.irn_cfg_options is not None):
        parser.error('--cam-dir and --irn-cfg-options need --irn-config and '
                     '--irn-checkpoint')
    for key in ('num', 'max_classes', 'cell'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    return args


def main(argv=None):
    """Draw the CAM grid; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    cfg = cli.load_config(args)
    device = args.device or get_device()
    model = init_model(cfg, args.checkpoint, device, prepare=True)
    irn = None
    if args.irn_config is not None:
        irn_cfg = Config.fromfile(args.irn_config)
        if args.irn_cfg_options is not None:
            irn_cfg.merge_from_dict(args.irn_cfg_options)
        cli.apply_data_args(irn_cfg, args)
        irn = init_model(irn_cfg, args.irn_checkpoint, device)
    grid = cam_grid(
        model,
        cfg,
        args.out,
        split=args.split,
        num=args.num,
        pseudo_dir=args.pseudo_dir,
        gt_dir=args.gt_dir,
        max_classes=args.max_classes,
        cell=args.cell,
        irn=irn,
        cam_dir=args.irn_cam_dir)
    print(f'{len(grid) // (args.cell + CAPTION_HEIGHT)} images drawn to '
          f'{args.out} ({grid.shape[1]} x {grid.shape[0]} px)')
    return grid


if __name__ == '__main__':
    main()
