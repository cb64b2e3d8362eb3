# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Run the whole WSSS pipeline, resumable step by step, with a report.

Stage 1a (the CAM baseline named by the method config's ``baseline_config``)
-> its CAM sweep -> stage 1b (the method, both networks initialised from
1a) -> CAM sweep -> pseudo labels (+ CRF) -> pseudo-mask mIoU -> with
``--irn-config``: relation labels -> IRN training -> refined pseudo masks
and their mIoU -> stage-2 training (on the refined masks unless
``--stage2-labels cam``) -> val mIoU -> pictures -> ``WORK_DIR/report.md``.
A step whose result exists (``WORK_DIR/steps/<step>.json``) is skipped, so
rerunning after a crash continues where it stopped. Example (the toy demo)::

    python tools/run_pipeline.py \
        configs/toy/rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py \
        configs/toy/deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py \
        --work-dir work_dirs/demo --make-toy-data data/toy_voc \
        --irn-config configs/irn/irn_r18-tiny_1xb8-300it_toyvoc-192x192.py
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config, DictAction

from mmseg_wsss.apis.pipeline import STEPS, WSSSPipeline, baseline_config_of
from mmseg_wsss.datasets import ensure_toy_voc


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Seeds -> pseudo labels -> segmentation, resumable')
    parser.add_argument('stage1_config', help='CAM network config')
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument(
        '--baseline-config',
        help='stage-1a CAM baseline that initialises stage 1 (default: the '
        "stage-1 config's baseline_config)")
    baseline.add_argument(
        '--no-baseline',
        action='store_true',
        help='no stage 1a: stage 1 trains from its own initialisation (with '
        'the warm-up model.train_cfg.self_sup_start_iter, if any)')
    parser.add_argument('stage2_config', help='segmentation config')
    parser.add_argument('--work-dir', required=True, help='output folder')
    parser.add_argument(
        '--data-root', help='override data_root of every dataloader')
    parser.add_argument(
        '--make-toy-data',
        metavar='DIR',
        help='draw the embedded toy data set into DIR first (kept if it is '
        'there) and use it as the data root')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='refine the pseudo labels with a dense CRF (parameters: '
        'model.test_cfg.crf of stage 1, else the defaults)')
    parser.add_argument(
        '--tune-thresholds-on-gt',
        action='store_true',
        help='export the CAM and refined masks at the background thresholds '
        'that score best on the ground-truth masks of the eval split (uses '
        "pixel labels); default: each recipe's own test_cfg.bg_thr")
    parser.add_argument(
        '--irn-config',
        help='IRN relation network config: refine the CAM seeds by a random '
        'walk before stage 2 (default: no refinement)')
    parser.add_argument(
        '--stage2-labels',
        choices=('refined', 'cam', 'both'),
        default='refined',
        help='with --irn-config, the pseudo masks stage 2 trains on; both: '
        'the refined ones, then a second stage 2 on the CAM ones for '
        'comparison (default: refined)')
    parser.add_argument(
        '--steps',
        nargs='+',
        choices=STEPS,
        default=list(STEPS),
        help='steps to run (default: all)')
    parser.add_argument(
        '--num-pictures', type=int, default=4, help='rows per picture')
    parser.add_argument(
        '--cfg-options-stage1',
        nargs='+',
        action=DictAction,
        help='overrides of the stage-1 config (key=value)')
    parser.add_argument(
        '--cfg-options-baseline',
        nargs='+',
        action=DictAction,
        help='overrides of the stage-1a baseline config (key=value)')
    parser.add_argument(
        '--cfg-options-irn',
        nargs='+',
        action=DictAction,
        help='overrides of the IRN config (key=value)')
    parser.add_argument(
        '--cfg-options-stage2',
        nargs='+',
        action=DictAction,
        help='overrides of the stage-2 config (key=value)')
    parser.add_argument(
        '--global-batch',
        choices=('accumulate', 'device', 'none'),
        default='accumulate',
        help="train every config at its recipe's global batch "
        '(auto_scale_lr.base_batch_size, e.g. 16 for the 4xb4 stage 2) in '
        'this one process: by gradient accumulation over its batch_size '
        '(default), with the whole batch on the device, or none (the '
        'configs as they are)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    data_root = args.data_root and osp.abspath(args.data_root)
    if args.make_toy_data:
        ensure_toy_voc(args.make_toy_data)
        data_root = data_root or osp.abspath(args.make_toy_data)
    cfg1 = Config.fromfile(args.stage1_config)
    cfg2 = Config.fromfile(args.stage2_config)
    if args.cfg_options_stage1:
        cfg1.merge_from_dict(args.cfg_options_stage1)
    if args.cfg_options_stage2:
        cfg2.merge_from_dict(args.cfg_options_stage2)
    baseline = None
    if args.baseline_config:
        baseline = Config.fromfile(args.baseline_config)
    elif not args.no_baseline:
        baseline = baseline_config_of(cfg1)
    if baseline is not None and args.cfg_options_baseline:
        baseline.merge_from_dict(args.cfg_options_baseline)
    irn = None
    if args.irn_config:
        irn = Config.fromfile(args.irn_config)
        if args.cfg_options_irn:
            irn.merge_from_dict(args.cfg_options_irn)
    crf = None
    if args.crf:
        crf = dict(cfg1.model.get('test_cfg', {}).get('crf') or {})
    pipeline = WSSSPipeline(
        cfg1,
        cfg2,
        args.work_dir,
        baseline_cfg=baseline,
        data_root=data_root,
        crf=crf,
        num_pictures=args.num_pictures,
        irn_cfg=irn,
        stage2_labels=args.stage2_labels,
        tune_thresholds_on_gt=args.tune_thresholds_on_gt,
        global_batch=None
        if args.global_batch == 'none' else args.global_batch)
    results = pipeline.run(args.steps)
    print()
    print('\n'.join(pipeline.report_table(results)))
    print(f'\nReport: {osp.join(pipeline.work_dir, "report.md")} '
          f'({time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
