# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: do RCM and MAM improve the CAMs over a continued baseline?

The staged ablation. Per seed, stage 1a trains the CAM baseline
(``configs/toy/cam_*``) for ``--iters`` N iterations; stage 1b starts every
arm from that checkpoint (``load_from``; ``SupportNetEMAHook`` copies MainNet
into SupportNet on a fresh start) and trains N more: the baseline arm is the
CAM config continued, the method arms (``configs/toy/{rcm,mam,rcm-mam}_*``)
train with self-supervision from iteration 0. Every arm so gets N + N
iterations, the same seeds and the same stage-1a checkpoint per seed.

Each run is a fresh process (mmengine ``Runner.from_cfg``, ``runner.train()``
then ``runner.test()``: CAM mIoU at the best background threshold on the
split with masks). Reports per arm the mean and per-seed CAM mIoU, the paired
difference to the continued baseline with its standard error (std of the
paired differences / sqrt(n)), the stage-1b optimizer, EMA momentum and head
switches read from the configs, and ``SelfSupDiagnosticsHook``'s final
figures (mean over seeds).

Any VOC-layout data root works (``--data-root``); without one, the toy set
is drawn into /tmp/bench_toy if missing. The default (3 seeds, N = 300) takes
about an hour on 2 cores.

Usage::

    python benchmarks/bench_ablation.py [--seeds 0 1 2] [--iters 300]
    python benchmarks/bench_ablation.py --data-root /data/voc --arms cam rcm \
        --cfg-options model.rcm_head.loss_rcm.mask_absent_prototypes=True
    python benchmarks/bench_ablation.py --jobs 2 --cfg-options \
        model.support_cfg.momentum=0.04 optim_wrapper.optimizer.lr=0.001 \
        --baseline-cfg-options optim_wrapper.optimizer.lr=0.001
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

import common
import numpy as np
from mmengine.config import DictAction

LABELS = dict(
    cam='baseline (continued)', rcm='+RCM', mam='+MAM', rcm_mam='+RCM+MAM')
STAGE_1A = 'stage 1a (baseline)'
DIAGNOSTICS = ('cam_fg_recall', 'cam_fg_precision', 'mask_fg_correct',
               'mask_fg_as_bg', 'mask_bg_correct', 'proto_zero',
               'proto_memory_only', 'cos_own', 'cos_other', 'own_proto_wins',
               'mam_target_cam_fg_recall', 'mam_target_cam_fg_precision')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data-root',
        help='a VOC-layout data root (JPEGImages, ImageSets/Segmentation/'
        '{train_aug,train}.txt, SegmentationClass); default: the toy set '
        f'at {common.DEFAULT_TOY_ROOT}, drawn if missing')
    parser.add_argument(
        '--make-toy',
        action='store_true',
        help='draw the toy set at --data-root if that folder does not exist')
    parser.add_argument('--work-dir', default='/tmp/bench_ablation')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--iters',
        type=int,
        default=300,
        help='N: stage 1a trains N iterations, stage 1b N more')
    parser.add_argument(
        '--arms', nargs='+', choices=list(LABELS), default=list(LABELS))
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='key=value overrides of every method arm\'s stage-1b config, '
        'e.g. model.rcm_head.loss_rcm.mask_absent_prototypes=True, '
        'model.support_cfg.momentum=0.04, '
        'model.mam_head.loss_mam.target_norm=weight_sum')
    parser.add_argument(
        '--baseline-cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='key=value overrides of the continued baseline arm (stage 1b; '
        'stage 1a is shared and never overridden)')
    parser.add_argument(
        '--jobs',
        type=int,
        choices=(1, 2),
        default=1,
        help='child processes at once (2: one torch thread each)')
    parser.add_argument('--no-write', action='store_true')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f'--iters must be >= 1, got {args.iters}')
    if args.data_root is None:
        args.data_root, args.make_toy = common.DEFAULT_TOY_ROOT, True
    return args


def run_config(arm: str,
               seed: int,
               args: argparse.Namespace,
               load_from: Optional[str] = None):
    """The config of one run: N iterations, no validation.

    ``load_from=None`` is stage 1a (the baseline from scratch, keeping its
    last checkpoint ``iter_<N>.pth``); otherwise stage 1b of ``arm`` from
    that checkpoint, with self-supervision from iteration 0, the diagnostics
    hook and the arm's overrides.
    """
    stage_1a = load_from is None
    cfg = common.toy_config(arm, args.data_root)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = osp.join(args.work_dir,
                            f'{"stage1a" if stage_1a else arm}_seed{seed}')
    cfg.load_from = load_from
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = args.iters
    cfg.param_scheduler[0].end = args.iters
    # CAM mIoU comes from runner.test() once, not from validation
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.logger.interval = 50
    if stage_1a:
        cfg.default_hooks.checkpoint.interval = args.iters
        return cfg
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(
            type='SelfSupDiagnosticsHook', interval=args.iters, num_batches=4)
    ]
    if arm == 'cam':
        cfg.merge_from_dict(args.baseline_cfg_options)
    else:
        cfg.model.train_cfg.self_sup_start_iter = 0
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def child_main(spec: dict) -> None:
    """Train and test one run; print its results as one JSON line."""
    args = parse_args(spec['argv'])
    common.setup(threads=2 // args.jobs)
    from mmengine.runner import Runner

    from mmseg_wsss.engine.hooks import SelfSupDiagnosticsHook
    runner = Runner.from_cfg(
        run_config(spec['arm'], spec['seed'], args, spec['load_from']))
    start = time.perf_counter()
    runner.train()
    result = dict(sec_per_iter=(time.perf_counter() - start) / args.iters)
    if spec['load_from'] is None:
        result['checkpoint'] = osp.join(runner.work_dir,
                                        f'iter_{args.iters}.pth')
    else:
        result['diag'] = next(
            h.last for h in runner.hooks
            if isinstance(h, SelfSupDiagnosticsHook))
    result['losses'] = {
        key[len('train/'):]: float(np.mean(buf.data[0][-20:]))
        for key, buf in runner.message_hub.log_scalars.items()
        if key.startswith('train/') and 'loss_' in key
    }
    metrics = runner.test()
    result.update(
        miou=float(metrics['mIoU']), best_thr=float(metrics['best_bg_thr']))
    print(json.dumps(result))


def paired_difference(values: List[float],
                      base: List[float]) -> Tuple[float, float]:
    """Mean paired difference and its standard error.

    Args:
        values (list[float]): An arm's figure per seed.
        base (list[float]): The baseline's figure at the same seeds.

    Returns:
        tuple[float, float]: ``mean(d)`` and ``std(d, ddof=1) / sqrt(n)``
        of ``d = values - base`` (NaN for n < 2).
    """
    diff = np.asarray(values, np.float64) - np.asarray(base, np.float64)
    if diff.size < 2:
        return float(diff.mean()), float('nan')
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))


def flat_settings(cfg: dict, prefix: str = '') -> Dict[str, str]:
    """Leaves of a nested config dict as ``{'a.b': repr}``, without types."""
    out = {}
    for key, value in cfg.items():
        if key == 'type':
            continue
        if isinstance(value, dict):
            out.update(flat_settings(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = repr(value)
    return out


def stage_1b_config(arm: str, args: argparse.Namespace):
    """``arm``'s stage-1b config (seed 0, a placeholder checkpoint)."""
    return run_config(arm, 0, args, load_from='stage-1a checkpoint')


def settings(arm: str, args: argparse.Namespace) -> Tuple[list, str]:
    """The stage-1b settings of ``arm``: a table row and its switches."""
    cfg = stage_1b_config(arm, args)
    opt = cfg.optim_wrapper.optimizer
    paramwise = cfg.optim_wrapper.get('paramwise_cfg') or {}
    mults = ', '.join(f'{k} x{v.get("lr_mult", 1)}'
                      for k, v in paramwise.get('custom_keys', {}).items())
    sched = ', '.join(f'{s.type}(power {s.get("power", "-")}, end {s.end})'
                      for s in cfg.param_scheduler)
    model = cfg.model
    ema = model.get('support_cfg', {}).get('momentum', '-')
    start = model.get('train_cfg', {}).get('self_sup_start_iter', '-')
    overrides = args.baseline_cfg_options if arm == 'cam' else \
        args.cfg_options
    row = [
        LABELS[arm], f'{opt.type} lr {opt.lr} momentum '
        f'{opt.get("momentum", 0)} wd {opt.get("weight_decay", 0)}'
        f'{f" ({mults})" if mults else ""}', sched, ema, start,
        ', '.join(f'`{k}={v}`' for k, v in overrides.items()) or '-'
    ]
    switches = {}
    for key in ('rcm_head', 'mam_head', 'train_cfg'):
        if model.get(key):
            switches.update(flat_settings(model[key].to_dict(), f'{key}.'))
    return row, ', '.join(f'{k}={v}' for k, v in switches.items())


def run_all(args: argparse.Namespace) -> Tuple[dict, dict]:
    """All runs: stage 1a per seed, then each arm's stage 1b from it.

    Returns:
        tuple[dict, dict]: Stage-1a results by seed; stage-1b results by
        ``(arm, seed)``.
    """
    script = osp.abspath(__file__)

    def run(arm: str, seed: int, load_from: Optional[str]) -> dict:
        start = time.perf_counter()
        result = common.run_child(
            script,
            dict(arm=arm, seed=seed, load_from=load_from, argv=sys.argv[1:]))
        name = STAGE_1A if load_from is None else LABELS[arm]
        print(
            f'{name} seed {seed}: mIoU {result["miou"]:.2f} at bg_thr '
            f'{result["best_thr"]:g} ({time.perf_counter() - start:.0f} s)',
            flush=True)
        return result

    # stage 1b of a seed is queued as soon as its stage 1a is done
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        first = {s: pool.submit(run, 'cam', s, None) for s in args.seeds}
        second = {}
        for seed, future in first.items():
            ckpt = future.result()['checkpoint']
            for arm in args.arms:
                second[arm, seed] = pool.submit(run, arm, seed, ckpt)
        return ({
            s: f.result()
            for s, f in first.items()
        }, {
            k: f.result()
            for k, f in second.items()
        })
    finally:
        # after a failed run, the queued ones do not start
        pool.shutdown(cancel_futures=True)


def fmt_diff(mean: float, se: float) -> Tuple[str, str]:
    """``'+d.dd +- se'`` and whether ``|mean| > 2 se``."""
    if np.isnan(se):
        return f'{mean:+.2f} (n = 1)', 'n/a'
    beyond = abs(mean) > 2 * se
    return f'{mean:+.2f} +- {se:.2f}', 'yes' if beyond else 'no'


def report(args: argparse.Namespace, stage_1a: dict, stage_1b: dict) -> str:
    """The markdown body: results, settings and diagnostics tables."""
    n = args.iters
    base = [stage_1b['cam', s]['miou']
            for s in args.seeds] if 'cam' in args.arms else None
    rows = []
    for name, runs in [(STAGE_1A, [stage_1a[s] for s in args.seeds])] + [
        (LABELS[arm], [stage_1b[arm, s] for s in args.seeds])
            for arm in args.arms
    ]:
        mious = [r['miou'] for r in runs]
        diff, beyond = '', ''
        if base is not None and name not in (STAGE_1A, LABELS['cam']):
            diff, beyond = fmt_diff(*paired_difference(mious, base))
        losses = sorted(runs[0]['losses'])
        rows.append([
            name, n if name == STAGE_1A else f'{n} + {n}',
            f'{np.mean(mious):.2f}', ', '.join(f'{m:.2f}' for m in mious),
            diff, beyond, ', '.join(f'{r["best_thr"]:g}' for r in runs),
            ', '.join(f'{k.split(".")[-1]} '
                      f'{np.mean([r["losses"][k] for r in runs]):.3f}'
                      for k in losses),
            f'{np.mean([r["sec_per_iter"] for r in runs]):.2f}'
        ])
    results = common.markdown_table([
        'arm', 'iterations', 'CAM mIoU % (mean)', 'per seed',
        'paired diff vs continued baseline (mean +- SE)', '> 2 SE',
        'best bg_thr per seed', 'final losses (mean of last 20 iters)',
        's/iter (wall clock, shared machine)'
    ], rows)

    setting_rows, switches = [], []
    for arm in args.arms:
        row, arm_switches = settings(arm, args)
        setting_rows.append(row)
        if arm_switches:
            switches.append(f'- {LABELS[arm]}: {arm_switches}')
    setting_table = common.markdown_table([
        'arm (stage 1b)', 'optimizer (lr multipliers)', 'LR schedule',
        'SupportNet EMA momentum', 'self-sup from iter', 'cfg options'
    ], setting_rows)

    diag_rows = []
    for arm in args.arms:
        diags = [stage_1b[arm, s]['diag'] for s in args.seeds]
        diag_rows.append([LABELS[arm]] + [
            f'{np.mean([d[k] for d in diags]):.1f}' if all(
                k in d for d in diags) else '-' for k in DIAGNOSTICS
        ])
    diag_table = common.markdown_table(['arm'] + list(DIAGNOSTICS), diag_rows)

    return (
        f'Data root `{args.data_root}`: train on `train_aug`, CAM mIoU on '
        '`train` (the config\'s test pipeline and scales). Staged: per seed '
        f'a CAM baseline trained {n} iterations (stage 1a); every arm starts '
        f'from it and trains {n} more (stage 1b, self-supervision from '
        f'iteration 0), so all arms get {2 * n} iterations. Seeds '
        f'{args.seeds}; paired differences per seed against the continued '
        'baseline, SE = std / sqrt(n). One fresh process per run (mmengine '
        'Runner.from_cfg, then runner.test()), '
        f'{args.jobs} at a time with {2 // args.jobs} torch thread(s) '
        'each.\n\n' + results + '\n\nStage-1b settings (read from the '
        'configs after the overrides):\n\n' + setting_table + '\n\n' +
        '\n'.join(switches) + '\n\n`SelfSupDiagnosticsHook` after the last '
        'stage-1b iteration (% on 4 fixed augmented batches of the split '
        'with masks; cosines x 100; mean over seeds):\n\n' + diag_table + '\n')


def main() -> None:
    args = parse_args()
    if common.ran_as_child(args, child_main):
        return
    common.check_data_root(args.data_root, make_toy=args.make_toy)
    from mmseg.registry import MODELS
    for arm in args.arms:
        # bad overrides fail here, before any training
        MODELS.build(stage_1b_config(arm, args).model)
    if args.jobs > 1:
        # idle OpenMP threads of one child must not spin on the other's core
        os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'
    stage_1a, stage_1b = run_all(args)
    common.append_results(
        'bench_ablation.py: staged CAM mIoU of baseline, +RCM, +MAM, '
        '+RCM+MAM',
        report(args, stage_1a, stage_1b),
        write=not args.no_write)


if __name__ == '__main__':
    main()
