# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Export pseudo-label PNGs of a split with a trained CAM network.

Resumable: rerun the same command after an interruption and only the missing
images are computed. Several processes (``--launcher pytorch`` with
torchrun, see ``tools/dist_test.sh``) split the images between them.

Example::

    python tools/make_pseudo_labels.py configs/wsss/rcm_mam_r50_voc.py \
        work_dirs/rcm_mam_r50_voc/iter_52920.pth \
        --out data/VOCdevkit/VOC2012/PseudoLabels --crf
"""
import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.dist import all_gather_object, get_dist_info, init_dist

from mmseg_wsss.apis import build_infer_dataset, init_model, make_pseudo_labels
from mmseg_wsss.utils import shutdown_distributed


def parse_args(argv=None):
    """Command-line arguments (``argv`` defaults to ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        description='Write one pseudo-label PNG per image of a split')
    parser.add_argument('config', help='config file of the CAM network')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--split',
        default='train_aug',
        help='split under ImageSets/Segmentation (default: train_aug)')
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
        '--overwrite',
        action='store_true',
        help='recompute images whose PNG exists (default: skip them)')
    parser.add_argument(
        '--workers',
        type=int,
        default=0,
        help='processes that run the CRF and write the files while the '
        'network works on the next images (useful with --crf; default: 0, '
        'all in this process)')
    parser.add_argument(
        '--device', help='device (default: cuda if available, else cpu)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs such as '
        'model.test_cfg.scales="[1.0,0.5]"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    """Export pseudo labels; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.launcher != 'none':
        init_dist(args.launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {}))
    rank, world_size = get_dist_info()

    model = init_model(
        cfg, args.checkpoint, args.device or get_device(), prepare=True)
    dataset = build_infer_dataset(cfg, args.split)
    crf = None
    if args.crf:
        crf = dict(model.test_cfg.get('crf') or {})
    summary = make_pseudo_labels(
        model,
        dataset,
        args.out,
        crf=crf,
        bg_thr=args.bg_thr,
        ignore_band=args.ignore_band,
        cam_dir=os.path.join(args.out, 'cams') if args.save_cams else None,
        overwrite=args.overwrite,
        rank=rank,
        world_size=world_size,
        workers=args.workers)

    summaries = all_gather_object(summary) if world_size > 1 else [summary]
    if rank == 0:
        written = sum(s['written'] for s in summaries)
        skipped = sum(s['skipped'] for s in summaries)
        seconds = max(s['seconds'] for s in summaries)
        speed = written / seconds if written else 0.0
        print(f'\n{args.split}: {written} images written, {skipped} skipped '
              f'(already done) to {args.out} in {seconds:.1f} s '
              f'({speed:.2f} images/s)')
    shutdown_distributed()


if __name__ == '__main__':
    main()
