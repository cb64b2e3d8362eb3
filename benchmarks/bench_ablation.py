# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: does any seed method improve the CAMs over a continued baseline?

One fair bench for every seed method (RCM / MAM, ReCAM, and their chain).
Per seed, stage 1a trains the CAM baseline (``configs/toy/cam_*``) for
``--iters-1a`` iterations, long enough to converge (the report gives the
continued baseline's own gain over stage 1a). Stage 1b starts every arm from
that checkpoint (``load_from``; ``SupportNetEMAHook`` copies MainNet into
SupportNet on a fresh start, the ReCAM predictor is new) and trains N =
``--iters`` more: the baseline arm is the CAM config continued, the RCM/MAM
arms (``configs/toy/{rcm,mam,rcm-mam}_*``) train with self-supervision from
iteration 0, the ReCAM arms (``configs/toy/recam_*``) fine-tune with the
predictor. The chained arm (ReCAM on RCM+MAM) runs RCM+MAM for N - N // 2
iterations, then ReCAM for N // 2 from its MainNet. Every arm so gets the
same stage 1a, the same N iterations after it, and the same seeds.

Each run is a fresh process (mmengine ``Runner.from_cfg``, ``runner.train()``
then ``runner.test()``: CAM mIoU at the best background threshold on the
split with masks; ReCAM arms are tested with each inference weight). Reports
per arm the mean and per-seed CAM mIoU, the paired difference to the
continued baseline with its standard error (std of the paired differences /
sqrt(n)), the settings read from the configs, and
``SelfSupDiagnosticsHook``'s final figures (mean over seeds).

Any VOC-layout data root works (``--data-root``); without one, the toy set
is drawn into /tmp/bench_toy if missing. Each finished run leaves
``result.json`` in its folder under ``--work-dir``; a rerun with the same
settings reads those back, so an interrupted bench continues where it
stopped.

Usage::

    python benchmarks/bench_ablation.py [--seeds 0 1 2] [--iters 300] \
        [--iters-1a 1500] [--jobs 2]
    python benchmarks/bench_ablation.py --data-root /data/voc --arms cam rcm \
        --cfg-options model.rcm_head.loss_rcm.mask_absent_prototypes=True
    python benchmarks/bench_ablation.py --arms cam recam --recam-cfg-options \
        model.recam_head.loss_sce.loss_weight=0.1
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

# arm -> (label, toy config (common.TOY_CONFIGS key), fixed overrides)
ARMS = {
    'cam': ('baseline (continued)', 'cam', {}),
    'rcm': ('+RCM', 'rcm', {}),
    'mam': ('+MAM', 'mam', {}),
    'rcm_mam': ('+RCM+MAM', 'rcm_mam', {}),
    # the switch that removed RCM's feature collapse (RESULTS.md, issue 10)
    'rcm_mam_best': ('+RCM+MAM, mask_absent_prototypes', 'rcm_mam', {
        'model.rcm_head.loss_rcm.mask_absent_prototypes': True
    }),
    'recam': ('ReCAM', 'recam', {}),
    # the official optimizer as it ran: the momentum slot held 1e-4
    'recam_official_optim':
    ('ReCAM, official lr 5e-5 and momentum 1e-4', 'recam', {
        'optim_wrapper.optimizer.lr': 5e-5,
        'optim_wrapper.optimizer.momentum': 1e-4
    }),
    'recam_on_rcm_mam': ('ReCAM on +RCM+MAM', 'recam', {}),
    # a diagnostic, not a recipe: ReCAM at the lr every other arm uses, to
    # tell a predictor that the scaled official lr cannot train in N
    # iterations from a method that does not help
    'recam_stage1_lr':
    ('ReCAM at stage 1\'s lr (0.01, predictor x10)', 'recam', {
        'optim_wrapper.optimizer.lr': 0.01
    }),
}
# chained arms: the arm whose network the first part trains
CHAINED = {'recam_on_rcm_mam': 'rcm_mam'}
DEFAULT_ARMS = ('cam', 'rcm_mam', 'rcm_mam_best', 'recam',
                'recam_official_optim', 'recam_on_rcm_mam')
STAGE_1A = 'stage 1a (baseline)'
# --backbone r38 runs an arm on common.TOY_CONFIGS[f'{config}_r38']
BACKBONES = ('r18', 'r38')
CAM_WEIGHTS = ('product', 'cam', 'recam')
DIAGNOSTICS = ('cam_fg_recall', 'cam_fg_precision', 'cam_fg_wrong_class',
               'mask_fg_correct', 'mask_fg_as_bg', 'mask_bg_correct',
               'proto_zero', 'proto_memory_only', 'cos_own', 'cos_other',
               'own_proto_wins', 'mam_target_cam_fg_recall',
               'mam_target_cam_fg_precision')


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
        help='N: every arm trains N iterations after stage 1a')
    parser.add_argument(
        '--iters-1a',
        type=int,
        default=1500,
        help='iterations of stage 1a (the baseline from scratch)')
    parser.add_argument(
        '--arms', nargs='+', choices=list(ARMS), default=list(DEFAULT_ARMS))
    parser.add_argument(
        '--backbone',
        choices=BACKBONES,
        default=BACKBONES[0],
        help='the toy network family: r18 (ResNet-18 at 1/4 width, the '
        'R50 recipe) or r38 (the authors\' recipe preset: ResNet-38 at 1/16 '
        'width, its own stage 1a; arms cam and rcm_mam)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='key=value overrides of every RCM/MAM arm (and the RCM+MAM '
        'part of a chain), e.g. '
        'model.rcm_head.loss_rcm.mask_absent_prototypes=True, '
        'model.support_cfg.momentum=0.04')
    parser.add_argument(
        '--recam-cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='key=value overrides of every ReCAM arm, e.g. '
        'model.recam_head.loss_sce.loss_weight=0.1')
    parser.add_argument(
        '--baseline-cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='key=value overrides of the continued baseline arm (stage 1a '
        'is shared and never overridden)')
    parser.add_argument(
        '--jobs',
        type=int,
        choices=(1, 2),
        default=1,
        help='child processes at once (2: one torch thread each)')
    parser.add_argument('--no-write', action='store_true')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.iters < 2 or args.iters_1a < 1:
        parser.error('--iters must be >= 2 and --iters-1a >= 1, got '
                     f'{args.iters}, {args.iters_1a}')
    if args.data_root is None:
        args.data_root, args.make_toy = common.DEFAULT_TOY_ROOT, True
    return args


def run_spec(arm: str, seed: int, part: str) -> dict:
    """What a run is: ``part`` 'stage1a', 'chain' (a chained arm's first
    part) or 'stage1b' (the arm itself, or a chained arm's last part)."""
    return dict(arm=arm, seed=seed, part=part)


def toy_name(name: str, backbone: str) -> str:
    """The ``common.TOY_CONFIGS`` key of config ``name`` for ``backbone``."""
    if backbone == 'r18':
        return name
    key = f'{name}_{backbone}'
    if key not in common.TOY_CONFIGS:
        raise ValueError(f'--backbone {backbone}: no toy {backbone} config '
                         f'for {name!r}; arms with one: cam, rcm_mam')
    return key


def run_name(spec: dict) -> str:
    """The folder of a run under ``--work-dir``."""
    return f'{spec["part"]}_{spec["arm"]}_seed{spec["seed"]}'


def run_key(spec: dict, args: argparse.Namespace,
            load_from: Optional[str]) -> str:
    """What a run's result depends on, as a string to compare."""
    settings = dict(
        spec,
        load_from=load_from,
        data_root=args.data_root,
        iters_1a=args.iters_1a)
    if args.backbone != 'r18':
        settings.update(backbone=args.backbone)
    if spec['part'] != 'stage1a':
        settings.update(
            iters=args.iters,
            cfg_options=args.cfg_options,
            recam_cfg_options=args.recam_cfg_options,
            baseline_cfg_options=args.baseline_cfg_options)
    return json.dumps(settings, sort_keys=True, default=str)


def run_config(spec: dict,
               args: argparse.Namespace,
               load_from: Optional[str] = None):
    """The config of one run, without validation.

    Stage 1a trains the baseline from scratch for ``--iters-1a`` and keeps
    its last checkpoint; a chain's first part trains its network N - N // 2
    iterations from ``load_from`` and keeps its checkpoint; stage 1b trains
    the arm's config N iterations (N // 2 after a chain's first part) from
    ``load_from``, with the diagnostics hook and the arm's overrides.
    """
    arm, part = spec['arm'], spec['part']
    half = args.iters // 2
    if part == 'stage1a':
        name, iters, options = 'cam', args.iters_1a, {}
    elif part == 'chain':
        first = CHAINED[arm]
        name, iters, options = ARMS[first][1], args.iters - half, \
            ARMS[first][2]
    else:
        name, options = ARMS[arm][1], ARMS[arm][2]
        iters = half if arm in CHAINED else args.iters
    cfg = common.toy_config(toy_name(name, args.backbone), args.data_root)
    cfg.randomness = dict(seed=spec['seed'])
    cfg.work_dir = osp.join(args.work_dir, run_name(spec))
    cfg.load_from = load_from
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    # CAM mIoU comes from runner.test() once, not from validation
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.logger.interval = 50
    if part != 'stage1b':
        cfg.default_hooks.checkpoint.interval = iters
    else:
        cfg.default_hooks.checkpoint = None
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SelfSupDiagnosticsHook', interval=iters, num_batches=4)
        ]
    if part == 'stage1a':
        return cfg
    if cfg.model.type == 'DualCAMSegmentor':
        cfg.model.train_cfg.self_sup_start_iter = 0
    cfg.merge_from_dict(options)
    if name == 'cam':
        cfg.merge_from_dict(args.baseline_cfg_options)
    elif name == 'recam':
        cfg.merge_from_dict(args.recam_cfg_options)
    else:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def child_main(spec: dict) -> None:
    """Train and test one run; print its results as one JSON line."""
    args = parse_args(spec['argv'])
    common.setup(threads=2 // args.jobs)
    from mmengine.runner import Runner

    from mmseg_wsss.engine.hooks import SelfSupDiagnosticsHook
    cfg = run_config(spec, args, spec['load_from'])
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    iters = cfg.train_cfg.max_iters
    result = dict(
        iters=iters, sec_per_iter=(time.perf_counter() - start) / iters)
    if spec['part'] != 'stage1b':
        result['checkpoint'] = osp.join(runner.work_dir, f'iter_{iters}.pth')
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
    head = getattr(runner.model, 'recam_head', None)
    if head is not None and spec['part'] == 'stage1b':
        # the same network's maps from each inference weight
        result['miou_by_weight'] = {head.cam_weight: result['miou']}
        for weight in CAM_WEIGHTS:
            if weight not in result['miou_by_weight']:
                head.cam_weight = weight
                result['miou_by_weight'][weight] = float(runner.test()['mIoU'])
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
    return run_config(
        run_spec(arm, 0, 'stage1b'), args, load_from='stage-1a checkpoint')


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
    overrides = dict(ARMS[arm][2])
    overrides.update({
        'cam': args.baseline_cfg_options,
        'recam': args.recam_cfg_options
    }.get(ARMS[arm][1], args.cfg_options))
    row = [
        ARMS[arm][0], f'{opt.type} lr {opt.lr} momentum '
        f'{opt.get("momentum", 0)} wd {opt.get("weight_decay", 0)}'
        f'{f" ({mults})" if mults else ""}', sched, ema, start,
        ', '.join(f'`{k}={v}`' for k, v in overrides.items()) or '-'
    ]
    switches = {}
    for key in ('rcm_head', 'mam_head', 'recam_head', 'train_cfg'):
        if model.get(key):
            switches.update(flat_settings(model[key].to_dict(), f'{key}.'))
    return row, ', '.join(f'{k}={v}' for k, v in switches.items())


def run_all(args: argparse.Namespace) -> Tuple[dict, dict]:
    """All runs: stage 1a per seed, then each arm from it (a chain's first
    part, then its last part).

    Returns:
        tuple[dict, dict]: Stage-1a results by seed; stage-1b results by
        ``(arm, seed)``.
    """
    script = osp.abspath(__file__)

    def run(spec: dict, load_from: Optional[str]) -> dict:
        start = time.perf_counter()
        # a finished run of the same settings is read back, not rerun, so
        # an interrupted bench continues where it stopped
        key = run_key(spec, args, load_from)
        path = osp.join(args.work_dir, run_name(spec), 'result.json')
        done = None
        if osp.isfile(path):
            with open(path) as f:
                done = json.load(f)
        if done is not None and done.get('key') == key:
            result = done['result']
        else:
            result = common.run_child(
                script, dict(spec, load_from=load_from, argv=sys.argv[1:]))
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path + '.tmp', 'w') as f:
                json.dump(dict(key=key, result=result), f)
            os.replace(path + '.tmp', path)
        name = STAGE_1A if spec['part'] == 'stage1a' else \
            f'{ARMS[spec["arm"]][0]} ({spec["part"]})'
        print(
            f'{name} seed {spec["seed"]}: mIoU {result["miou"]:.2f} at '
            f'bg_thr {result["best_thr"]:g} '
            f'({time.perf_counter() - start:.0f} s)',
            flush=True)
        return result

    def arm_runs(arm: str, seed: int, ckpt: str) -> dict:
        if arm in CHAINED:
            ckpt = run(run_spec(arm, seed, 'chain'), ckpt)['checkpoint']
        return run(run_spec(arm, seed, 'stage1b'), ckpt)

    # an arm's runs of a seed are queued as soon as its stage 1a is done;
    # a chained arm's two parts run one after the other in one worker
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        first = {
            s: pool.submit(run, run_spec('cam', s, 'stage1a'), None)
            for s in args.seeds
        }
        second = {}
        for seed, future in first.items():
            ckpt = future.result()['checkpoint']
            for arm in args.arms:
                second[arm, seed] = pool.submit(arm_runs, arm, seed, ckpt)
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


def iterations(arm: Optional[str], args: argparse.Namespace) -> str:
    """The iterations of an arm as a sum of its parts ('1500 + 300')."""
    if arm is None:
        return str(args.iters_1a)
    if arm in CHAINED:
        half = args.iters // 2
        return f'{args.iters_1a} + {args.iters - half} + {half}'
    return f'{args.iters_1a} + {args.iters}'


def report(args: argparse.Namespace, stage_1a: dict, stage_1b: dict) -> str:
    """The markdown body: results, settings and diagnostics tables."""
    seeds = args.seeds
    base = [stage_1b['cam', s]['miou']
            for s in seeds] if 'cam' in args.arms else None
    rows = []
    for arm, runs in [(None, [stage_1a[s] for s in seeds])] + [
        (arm, [stage_1b[arm, s] for s in seeds]) for arm in args.arms
    ]:
        mious = [r['miou'] for r in runs]
        diff, beyond = '', ''
        if base is not None and arm is not None and arm != 'cam':
            diff, beyond = fmt_diff(*paired_difference(mious, base))
        losses = sorted(runs[0]['losses'])
        rows.append([
            STAGE_1A if arm is None else ARMS[arm][0],
            iterations(arm, args), f'{np.mean(mious):.2f}',
            ', '.join(f'{m:.2f}' for m in mious), diff, beyond,
            ', '.join(f'{r["best_thr"]:g}' for r in runs),
            ', '.join(f'{k.split(".")[-1]} '
                      f'{np.mean([r["losses"][k] for r in runs]):.3f}'
                      for k in losses),
            f'{np.mean([r["sec_per_iter"] for r in runs]):.3f}'
        ])
    results = common.markdown_table([
        'arm', 'iterations', 'CAM mIoU % (mean)', 'per seed',
        'paired diff vs continued baseline (mean +- SE)', '> 2 SE',
        'best bg_thr per seed', 'final losses (mean of last 20 iters)',
        's/iter (wall clock, shared machine)'
    ], rows)
    converged = ''
    if base is not None:
        before = [stage_1a[s]['miou'] for s in seeds]
        gain, se = paired_difference(base, before)
        per_seed = ', '.join(f'{b - a:+.2f}' for a, b in zip(before, base))
        converged = (
            f'Convergence of stage 1a: the continued baseline gains '
            f'{gain:+.2f} +- {se:.2f} points over stage 1a (paired; per '
            f'seed {per_seed}).\n\n')

    weight_rows = []
    for arm in args.arms:
        runs = [stage_1b[arm, s] for s in seeds]
        if all('miou_by_weight' in r for r in runs):
            by = {
                w: [r['miou_by_weight'][w] for r in runs]
                for w in CAM_WEIGHTS
            }
            weight_rows.append([ARMS[arm][0]] + [
                f'{np.mean(v):.2f} (' + ', '.join(f'{x:.2f}' for x in v) + ')'
                for v in by.values()
            ])
    weights = ''
    if weight_rows:
        weights = (
            'ReCAM arms: CAM mIoU of the same trained network with each '
            'inference weight (`model.recam_head.cam_weight`; mean, per '
            'seed):\n\n' + common.markdown_table(
                ['arm', 'W_recam * W_cam (product)', 'W_cam', 'W_recam'],
                weight_rows) + '\n\n')

    setting_rows, switches = [], []
    for arm in args.arms:
        row, arm_switches = settings(arm, args)
        setting_rows.append(row)
        if arm_switches:
            switches.append(f'- {ARMS[arm][0]}: {arm_switches}')
    setting_table = common.markdown_table([
        'arm (after stage 1a)', 'optimizer (lr multipliers)', 'LR schedule',
        'SupportNet EMA momentum', 'self-sup from iter', 'cfg options'
    ], setting_rows)

    diag_rows = []
    for arm in args.arms:
        diags = [stage_1b[arm, s]['diag'] for s in seeds]
        diag_rows.append([ARMS[arm][0]] + [
            f'{np.mean([d[k] for d in diags]):.1f}' if all(
                k in d for d in diags) else '-' for k in DIAGNOSTICS
        ])
    diag_table = common.markdown_table(['arm'] + list(DIAGNOSTICS), diag_rows)

    return (
        f'Toy network family `{args.backbone}`. Data root '
        f'`{args.data_root}`: train on `train_aug`, CAM mIoU on '
        '`train` (the config\'s test pipeline and scales). Staged: per seed '
        f'a CAM baseline trained {args.iters_1a} iterations (stage 1a); '
        f'every arm starts from it and trains {args.iters} more (a chained '
        'arm: its first network, then ReCAM, half each; self-supervision '
        f'from iteration 0). Seeds {seeds}; paired differences per seed '
        'against the continued baseline, SE = std / sqrt(n). One fresh '
        'process per run (mmengine Runner.from_cfg, then runner.test()), '
        f'{args.jobs} at a time with {2 // args.jobs} torch thread(s) '
        'each.\n\n' + results + '\n\n' + converged + weights +
        'Settings after stage 1a (read from the configs after the '
        'overrides):\n\n' + setting_table + '\n\n' + '\n'.join(switches) +
        '\n\n`SelfSupDiagnosticsHook` after the last iteration (% on 4 '
        'fixed augmented batches of the split with masks; CAM figures on '
        'the maps predict() uses; cosines x 100; mean over seeds):\n\n' +
        diag_table + '\n')


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
        'bench_ablation.py: staged CAM mIoU of the seed methods vs the '
        'continued baseline',
        report(args, stage_1a, stage_1b),
        write=not args.no_write)


if __name__ == '__main__':
    main()
