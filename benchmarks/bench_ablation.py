# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: do RCM and MAM improve the CAMs (toy data)?

Trains the baseline, +RCM, +MAM and +RCM+MAM toy configs (``configs/toy/``)
with a real mmengine ``Runner`` (``Runner.from_cfg``, work dirs under /tmp) at
the same seeds, iterations and data, then ``runner.test()`` gives the CAM
mIoU at the best background threshold on the toy ``train`` split. Each run is
a fresh process. Reports mean and spread over seeds, the paired difference to
the baseline, and the mean mIoU-vs-threshold curve.

The default is the full toy schedule (3 seeds x 300 iterations), which takes
well over the other scripts' 5 minutes (about 20-40 minutes on 2 cores);
``--iters`` shortens it (``self_sup_start_iter`` scales with it).

Usage::

    python benchmarks/bench_ablation.py [--seeds 0 1 2] [--iters 300]
    python benchmarks/bench_ablation.py --variants cam rcm_mam \
        --self-sup-start 0        # warm-up study
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import common
import numpy as np

LABELS = dict(cam='baseline', rcm='+RCM', mam='+MAM', rcm_mam='+RCM+MAM')
# configs/toy/rcm-mam_*: warm-up of 38 of 300 iterations (1/8).
TOY_ITERS, TOY_SELF_SUP_START = 300, 38


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=common.DEFAULT_TOY_ROOT)
    parser.add_argument('--work-dir', default='/tmp/bench_ablation')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=TOY_ITERS)
    parser.add_argument(
        '--variants', nargs='+', choices=list(LABELS), default=list(LABELS))
    parser.add_argument(
        '--self-sup-start',
        type=int,
        help='override train_cfg.self_sup_start_iter of the method variants '
        '(default: the config value, scaled with --iters)')
    parser.add_argument(
        '--ema-momentum',
        type=float,
        help='override support_cfg.momentum (mmengine convention: the '
        'weight of MainNet in each EMA step; the config has 0.004)')
    parser.add_argument(
        '--init-from-baseline',
        action='store_true',
        help='per seed, train the baseline for --iters first, then start '
        'every variant from its checkpoint (load_from) and train --iters '
        'more, self-supervision from iteration 0 unless --self-sup-start')
    parser.add_argument(
        '--mask-absent',
        action='store_true',
        help='RCM with mask_absent_prototypes=True')
    parser.add_argument(
        '--mam-target-norm',
        choices=['num_scales', 'weight_sum'],
        help="override mam_head.loss_mam.target_norm ('weight_sum': a "
        'weighted mean)')
    parser.add_argument('--no-write', action='store_true')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def self_sup_start(args: argparse.Namespace) -> int:
    """Warm-up iterations of the method variants for this run."""
    if args.self_sup_start is not None:
        return args.self_sup_start
    if args.init_from_baseline:
        return 0
    return round(TOY_SELF_SUP_START * args.iters / TOY_ITERS)


def run_config(variant: str,
               seed: int,
               args: argparse.Namespace,
               load_from: Optional[str] = None,
               pretrain: bool = False):
    """The toy config of one run: ``iters`` iterations, no validation.

    ``pretrain`` runs keep their last checkpoint (``iter_<iters>.pth``);
    ``load_from`` starts the run from such a checkpoint.
    """
    cfg = common.toy_config(variant, args.data_root)
    cfg.randomness = dict(seed=seed)
    name = 'pretrain' if pretrain else variant
    cfg.work_dir = osp.join(args.work_dir, f'{name}_seed{seed}')
    cfg.load_from = load_from
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.val_interval = args.iters
    cfg.param_scheduler[0].end = args.iters
    # CAM mIoU comes from runner.test() once, not from validation
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if pretrain:
        cfg.default_hooks.checkpoint.interval = args.iters
    else:
        cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 50
    if variant != 'cam':
        cfg.model.train_cfg.self_sup_start_iter = self_sup_start(args)
        if args.ema_momentum is not None:
            cfg.model.support_cfg.momentum = args.ema_momentum
        if args.mask_absent:
            cfg.model.rcm_head.loss_rcm.mask_absent_prototypes = True
        if args.mam_target_norm is not None:
            cfg.model.mam_head.loss_mam.target_norm = args.mam_target_norm
    return cfg


def child_main(spec: dict) -> None:
    """Train and test one (variant, seed) and print its metrics as JSON."""
    args = parse_args(spec['argv'])
    common.setup()
    from mmengine.runner import Runner
    pretrain = spec.get('pretrain', False)
    runner = Runner.from_cfg(
        run_config(spec['variant'], spec['seed'], args, spec.get('load_from'),
                   pretrain))
    start = time.perf_counter()
    runner.train()
    train_time = time.perf_counter() - start
    if pretrain:
        print(
            json.dumps(
                dict(
                    checkpoint=osp.join(runner.work_dir,
                                        f'iter_{args.iters}.pth'))))
        return
    scalars = runner.message_hub.log_scalars
    final_losses = {
        key[len('train/'):]: float(np.mean(buf.data[0][-20:]))
        for key, buf in scalars.items()
        if key.startswith('train/') and 'loss_' in key
    }
    metrics = runner.test()
    curve = {
        k[len('mIoU@'):]: float(v)
        for k, v in metrics.items() if k.startswith('mIoU@')
    }
    print(
        json.dumps(
            dict(
                miou=float(metrics['mIoU']),
                best_thr=float(metrics['best_bg_thr']),
                curve=curve,
                losses=final_losses,
                sec_per_iter=train_time / args.iters)))


def mean_std(values: List[float]) -> str:
    values = np.asarray(values, dtype=np.float64)
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f'{values.mean():.2f} +- {spread:.2f}'


def main() -> None:
    args = parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return
    common.setup()
    common.ensure_toy_data(args.data_root)
    runs: Dict[str, List[dict]] = {v: [] for v in args.variants}
    script = osp.abspath(__file__)
    for seed in args.seeds:
        load_from = None
        if args.init_from_baseline:
            load_from = common.run_child(
                script,
                dict(
                    variant='cam', seed=seed, pretrain=True,
                    argv=sys.argv[1:]))['checkpoint']
        for variant in args.variants:
            start = time.perf_counter()
            result = common.run_child(
                script,
                dict(
                    variant=variant,
                    seed=seed,
                    load_from=load_from,
                    argv=sys.argv[1:]))
            runs[variant].append(result)
            print(f'{LABELS[variant]} seed {seed}: mIoU {result["miou"]:.2f} '
                  f'at bg_thr {result["best_thr"]:g} '
                  f'({time.perf_counter() - start:.0f} s)')

    base = runs.get('cam')
    rows = []
    for variant, results in runs.items():
        mious = [r['miou'] for r in results]
        diff = ''
        if base is not None and variant != 'cam':
            diff = mean_std(
                [r['miou'] - b['miou'] for r, b in zip(results, base)])
        losses = results[0]['losses'].keys()
        rows.append([
            LABELS[variant],
            mean_std(mious),
            ', '.join(f'{m:.2f}' for m in mious),
            diff,
            ', '.join(f'{r["best_thr"]:g}' for r in results),
            ', '.join(f'{k.split(".")[-1]} '
                      f'{np.mean([r["losses"][k] for r in results]):.3f}'
                      for k in sorted(losses)),
            f'{np.mean([r["sec_per_iter"] for r in results]):.2f}',
        ])
    table = common.markdown_table([
        'variant', 'CAM mIoU % (mean +- std)', 'per seed', 'paired diff vs '
        'baseline', 'best bg_thr per seed', 'final losses (mean of last 20 '
        'iters)', 'train s/iter (wall clock, shared machine)'
    ], rows)
    thrs = list(next(iter(runs.values()))[0]['curve'])
    curve_rows = [[
        LABELS[v], *(f'{np.mean([r["curve"][t] for r in results]):.1f}'
                     for t in thrs)
    ] for v, results in runs.items()]
    curve = common.markdown_table(['mean mIoU % at bg_thr'] + thrs, curve_rows)
    warmup = self_sup_start(args)
    init = ('' if not args.init_from_baseline else
            f'; every run starts from a baseline checkpoint of {args.iters} '
            'iterations (same seed), so all variants (baseline included) '
            f'train {2 * args.iters} iterations in total')
    ema = ('' if args.ema_momentum is None else
           f', SupportNet EMA momentum {args.ema_momentum}')
    mam = ('' if args.mam_target_norm is None else
           f', MAM target_norm={args.mam_target_norm}')
    body = (f'Toy data (`make_toy_voc.py`, seed 0): train on `train_aug` (200 '
            f'images), CAM mIoU on `train` (60 images, scales 1.0/0.5/1.5/2.0 '
            f'x flip). Seeds {args.seeds}, {args.iters} iterations at batch 8 '
            f'(crop 96), self-supervision from iteration {warmup}'
            f'{", mask_absent_prototypes=True" if args.mask_absent else ""}'
            f'{mam}{ema}{init}. '
            'One fresh process per run (mmengine Runner.from_cfg, then '
            'runner.test()).\n\n' + table + '\n\n' + curve + '\n')
    common.append_results(
        'bench_ablation.py: CAM mIoU of baseline, +RCM, +MAM, +RCM+MAM',
        body,
        write=not args.no_write)


if __name__ == '__main__':
    main()
