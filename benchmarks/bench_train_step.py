# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: what does a training step of the method cost, and where?

Compares ``DualCAMSegmentor`` (RCM + MAM) with ``CAMSegmentor`` on the same
backbone, batch and crop (CPU): seconds per iteration (median of interleaved
runs) and peak resident memory of a step (fresh subprocess per variant).
Breaks the method's step into parts (exclusive wall time of each), and
compares it with its *floor*: the network passes alone (MainNet forward +
backward at each main scale on its batch slice, SupportNet no-grad forward at
each support scale), each timed on its own and summed. Also measures RCM at
feature vs crop resolution (``rcm_head.rcm_resolution``) and prototypes from
crop- vs feature-resolution features (``rcm_head.proto_resolution``): time,
memory and the RCM loss value on the same weights.

Next to every time, its FLOPs (``mmseg_wsss.utils.flops.count_flops``:
torch's ``FlopCounterMode``, matrix products and convolutions): of each
variant's step (forward, backward, optimizer step, SupportNet EMA), its
ratio to the baseline's and the *efficiency* (time ratio / FLOP ratio), and
of each network pass of the floor, with the FLOPs per second each pass
reaches against the baseline step's. The method's SupportNet passes are
also timed as SupportNet is (``support_inference_form=False``), next to the
folded copy the step runs, in the same rounds.

Usage::

    python benchmarks/bench_train_step.py               # r18-tiny, 96 px
    python benchmarks/bench_train_step.py --backbone r50 --crop 128 \
        --batch 4 --repeats 3
"""
import argparse
import copy
import functools
import json
import math
import os.path as osp
import sys
import time
from collections import defaultdict
from typing import Callable, Dict, List

import common
import torch
import torch.nn.functional as F

VARIANTS = {
    'baseline':
    dict(name='cam'),
    'method':
    dict(name='rcm_mam'),
    'method, RCM at crop res.':
    dict(name='rcm_mam', rcm_head=dict(rcm_resolution='crop')),
    'method, protos at feature res.':
    dict(name='rcm_mam', rcm_head=dict(proto_resolution='feature')),
    'method, SupportNet as it is':
    dict(name='rcm_mam', train_cfg=dict(support_inference_form=False)),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=common.DEFAULT_TOY_ROOT)
    parser.add_argument(
        '--backbone',
        choices=['r18-tiny', 'r50'],
        default='r18-tiny',
        help='r50: the VOC recipe backbone, random init')
    parser.add_argument('--crop', type=int, default=96)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=list(VARIANTS),
        default=list(VARIANTS),
        help='variants to run (baseline and method are always run)')
    parser.add_argument(
        '--no-write', action='store_true', help='do not touch RESULTS.md')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def variant_config(variant: dict, args: argparse.Namespace):
    """Config of a ``VARIANTS`` entry; self-supervision on from iter 0."""
    if args.backbone == 'r50':
        cfg = common.r50_config(variant['name'], args.data_root, args.crop,
                                args.batch)
    else:
        cfg = common.toy_config(variant['name'], args.data_root, args.crop,
                                args.batch)
    if variant['name'] != 'cam':
        cfg.model.train_cfg.self_sup_start_iter = 0
        cfg.model.rcm_head.update(variant.get('rcm_head', {}))
        cfg.model.train_cfg.update(variant.get('train_cfg', {}))
    return cfg


def prepare(variant: dict, args: argparse.Namespace):
    """Model, optimizer wrapper and batch of a variant (same seeds)."""
    cfg = variant_config(variant, args)
    model = common.build_model(cfg)
    optim_wrapper = common.build_optim_wrapper(model, cfg)
    inputs, samples = common.train_batch(cfg, args.batch)
    return model, optim_wrapper, inputs, samples


def child_main(spec: dict) -> None:
    """Peak memory of two training steps of one variant (fresh process)."""
    args = parse_args(spec['argv'])
    common.setup()
    model, optim_wrapper, inputs, samples = prepare(VARIANTS[spec['variant']],
                                                    args)
    weights = sum(t.numel() * t.element_size()
                  for t in list(model.parameters()) + list(model.buffers()))

    def steps():
        for _ in range(2):
            common.train_step(model, optim_wrapper, inputs, samples)

    peak = common.peak_rss_delta_mib(steps)
    print(json.dumps(dict(peak_mib=peak, weights_mib=weights / 2**20)))


class SectionTimer:
    """Exclusive wall time of nested, named sections.

    A section's time excludes the sections opened inside it, so the parts add
    up to the total without double counting.
    """

    def __init__(self) -> None:
        self.totals: Dict[str, float] = defaultdict(float)
        self._stack: List[list] = []

    def wrap(self, fn: Callable, label) -> Callable:
        """``fn`` timed under ``label`` (a string or ``f(*args) -> str``)."""

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            name = label(*args) if callable(label) else label
            self._stack.append([name, time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, start, inner = self._stack.pop()
                elapsed = time.perf_counter() - start
                self.totals[name] += elapsed - inner
                if self._stack:
                    self._stack[-1][2] += elapsed

        return timed


def instrumented_step(model, optim_wrapper, inputs,
                      samples) -> Dict[str, float]:
    """Exclusive time of each part of one method step, and its total.

    Wraps the segmentor's methods and the functions it calls (on this model
    object and module only, restored afterwards) in a :class:`SectionTimer`.
    """
    from mmseg_wsss.models.heads import rcm_head as rcm_module
    crop = inputs.shape[-1]

    def scale_of(x):
        return f'x{x.shape[-1] / crop:g}, N={x.shape[0]}'

    def support_label(x, net=None):
        return f'SupportNet fwd {scale_of(x)}'

    def bound(obj, name):
        return getattr(type(obj), name).__get__(obj)

    timer = SectionTimer()
    wrap = timer.wrap
    methods = {
        (model, 'loss'): 'loss(): cls loss, labels, valid mask',
        (model, 'forward_cams'): lambda x: f'MainNet fwd {scale_of(x)}',
        (model, 'support_cams'): support_label,
        (model, 'support_inference_net'): 'SupportNet: refresh folded copy',
        (model, '_run_support'): 'SupportNet: resize, ReLU, mask',
        (model.rcm_head, 'targets'): 'RCM: region masks, feature resize',
        (model.rcm_head, 'loss'): 'RCM: region masks, feature resize',
        (model.mam_head, 'targets'): 'MAM: rescale inputs, resize CAMs',
        (model.rcm_head.loss_rcm, 'forward'): 'RCM loss fwd',
        (model.mam_head.loss_mam, 'forward'): 'MAM loss fwd',
    }
    memory = model.rcm_head.memory
    if memory is not None:
        methods[(memory, 'update')] = 'prototypes: memory update'
    functions = {
        'class_prototypes': 'prototypes: class_prototypes',
        'leave_one_out_prototypes': 'prototypes: leave-one-out',
        'region_mask': 'RCM: region masks, feature resize',
        'normalize_cams': 'RCM: region masks, feature resize',
    }
    saved = {name: getattr(rcm_module, name) for name in functions}
    for (obj, name), label in methods.items():
        setattr(obj, name, wrap(bound(obj, name), label))
    for name, label in functions.items():
        setattr(rcm_module, name, wrap(saved[name], label))
    try:
        start = time.perf_counter()
        losses = model.loss(inputs, samples)
        loss, _ = wrap(model.parse_losses, 'parse losses')(losses)
        wrap(optim_wrapper.backward, 'backward (all losses)')(loss)
        wrap(optim_wrapper.step, 'optimizer step')()
        wrap(optim_wrapper.zero_grad, 'optimizer step')()
        wrap(model.update_support, 'SupportNet EMA update')()
        total = time.perf_counter() - start
    finally:
        for name, fn in saved.items():
            setattr(rcm_module, name, fn)
        for obj, name in methods:
            vars(obj).pop(name)
    parts = dict(timer.totals)
    parts['(untimed glue)'] = total - sum(parts.values())
    parts['total'] = total
    return parts


def floor_passes(model, inputs) -> Dict[str, Callable[[], object]]:
    """The network passes of one method step, each as its own function.

    MainNet forward + backward at each main scale (scale 1.0 on the batch,
    the others on the first ``ceil(batch_fraction * N)`` images, as
    ``MAMHead.targets`` does) and SupportNet's no-grad forward at each support
    scale on the batch, in the form the step runs it
    (``train_cfg.support_inference_form``: its folded copy, whose refresh
    is left out as the EMA update is).
    """
    mam = model.mam_head
    n, _, h, w = inputs.shape
    m = max(1, math.ceil(mam.batch_fraction * n))

    def rescale(x, scale):
        if scale == 1.0:
            return x
        return F.interpolate(
            x,
            size=(round(h * scale), round(w * scale)),
            mode='bilinear',
            align_corners=False)

    def main_pass(x):
        cams, feats = model.forward_cams(x)
        (cams.sum() + feats.sum()).backward()
        model.zero_grad(set_to_none=True)

    net = (
        model.support_inference_net()
        if model.train_cfg.support_inference_form else None)

    @torch.no_grad()
    def support_pass(x, net):
        model.support_cams(x, net)

    passes = {}
    for scale in mam.main_scales:
        x = rescale(inputs if scale == 1.0 else inputs[:m], scale)
        passes[f'MainNet fwd+bwd x{scale:g}, N={x.shape[0]}'] = \
            functools.partial(main_pass, x)
    for scale in model.train_cfg.support_scales:
        x = rescale(inputs, scale)
        passes[f'SupportNet fwd x{scale:g}, N={n}'] = \
            functools.partial(support_pass, x, net)
    return passes


def unfolded_support_passes(model, inputs) -> Dict[str, Callable]:
    """SupportNet's forward at each support scale as it is (EMA modules)."""
    passes = {}
    for name, fn in floor_passes(model, inputs).items():
        if name.startswith('SupportNet'):
            x = fn.args[0]
            passes[f'{name}, as it is'] = functools.partial(fn.func, x, None)
    return passes


def self_sup_loss_values(model, inputs, samples,
                         names) -> Dict[str, Dict[str, float]]:
    """``loss_rcm`` and ``loss_mam`` of method variants on the same weights.

    Each variant runs on a deep copy of ``model`` (same weights, same
    prototype memory), so only its settings differ.
    """
    values = {}
    for name in names:
        variant = VARIANTS[name]
        if variant['name'] == 'cam':
            continue
        clone = copy.deepcopy(model)
        settings = dict(rcm_resolution='feature', proto_resolution='crop')
        settings.update(variant.get('rcm_head', {}))
        for key, value in settings.items():
            setattr(clone.rcm_head, key, value)
        clone.train_cfg.support_inference_form = True
        clone.train_cfg.update(variant.get('train_cfg', {}))
        with torch.no_grad():
            losses = clone.loss(inputs, samples)
        values[name] = {
            key: float(losses[f'cam.{key}'])
            for key in ('loss_rcm', 'loss_mam')
        }
    return values


def fmt(seconds: float) -> str:
    return f'{seconds * 1000:.1f}'


def ratio_of_medians_per_round(num: List[float], den: List[float]) -> float:
    """Median over rounds of ``num[r] / den[r]`` (same-round ratio)."""
    return common.median([a / b for a, b in zip(num, den)])


def gflops(flops: float) -> str:
    return f'{flops / 1e9:.1f}'


def main() -> None:
    from mmseg_wsss.utils.flops import count_flops, flop_efficiency
    args = parse_args()
    common.raise_onednn_cache()
    if common.ran_as_child(args, child_main):
        return
    common.ensure_toy_data(args.data_root)
    names = [
        name for name in VARIANTS
        if name in ('baseline', 'method') or name in args.variants
    ]
    prepared = {name: prepare(VARIANTS[name], args) for name in names}
    model, optim_wrapper, inputs, samples = prepared['method']
    passes = floor_passes(model, inputs)
    unfolded = unfolded_support_passes(model, inputs)
    # FLOPs first: one counted step per variant (the step after is timed)
    step_flops = {
        name: count_flops(common.train_step, *objs)[0]
        for name, objs in prepared.items()
    }
    pass_flops = {
        name: count_flops(fn)[0]
        for name, fn in {
            **passes,
            **unfolded
        }.items()
    }
    part_runs = []

    def instrumented():
        part_runs.append(
            instrumented_step(model, optim_wrapper, inputs, samples))

    # Every round runs each variant's step, the instrumented method step and
    # each network pass once, so all of them see the same machine load.
    fns = {
        name: functools.partial(common.train_step, *objs)
        for name, objs in prepared.items()
    }
    fns['instrumented method step'] = instrumented
    fns.update(passes)
    fns.update(unfolded)
    times = common.interleaved_times(fns, args.repeats)
    part_runs = part_runs[1:]  # drop the warm-up round
    floor_runs = [sum(run) for run in zip(*(times[k] for k in passes))]
    floor_flops = sum(pass_flops[k] for k in passes)

    memory = {
        name:
        common.run_child(
            osp.abspath(__file__), dict(variant=name, argv=sys.argv[1:]))
        for name in names
    }
    base_mem = memory['baseline']['peak_mib']
    base_flops = step_flops['baseline']
    rows = []
    for name in names:
        efficiency = common.median([
            flop_efficiency(t, b, step_flops[name], base_flops)
            for t, b in zip(times[name], times['baseline'])
        ])
        ratio = ratio_of_medians_per_round(times[name], times['baseline'])
        rows.append([
            name,
            fmt(common.median(times[name])),
            f'{ratio:.2f}',
            gflops(step_flops[name]),
            f'{step_flops[name] / base_flops:.2f}',
            f'{efficiency:.2f}',
            f'{memory[name]["peak_mib"]:.0f}',
            f'{memory[name]["peak_mib"] / base_mem:.2f}',
            f'{memory[name]["weights_mib"]:.1f}',
        ])
    table_step = common.markdown_table([
        'variant', 'ms/iter (median)', 'x baseline (median of per-round '
        'ratios)', 'GFLOPs/iter', 'x baseline GFLOPs', 'efficiency (time '
        'ratio / FLOP ratio)', 'peak RSS of 2 steps (MiB above setup)',
        'x baseline', 'weights+buffers MiB'
    ], rows)

    total_runs = [run['total'] for run in part_runs]
    total = common.median(total_runs)
    parts = sorted({k for run in part_runs for k in run} - {'total'})
    part_median = {
        k: common.median([run.get(k, 0.0) for run in part_runs])
        for k in parts
    }
    rows = [[k, fmt(v), f'{100 * v / total:.0f}%']
            for k, v in sorted(part_median.items(), key=lambda kv: -kv[1])]
    rows.append(['total (instrumented step)', fmt(total), '100%'])
    table_parts = common.markdown_table([
        'part of the method step (exclusive wall time)', 'ms (median)', 'share'
    ], rows)

    # FLOPs per second of each pass against the baseline step's, per round
    base_rate = [base_flops / t for t in times['baseline']]

    def pass_row(name, flops, runs):
        rate = common.median([flops / t for t in runs])
        rel = common.median([flops / t / b for t, b in zip(runs, base_rate)])
        return [
            name,
            fmt(common.median(runs)),
            gflops(flops), f'{flops / base_flops:.2f}', f'{rate / 1e9:.1f}',
            f'{rel:.2f}'
        ]

    rows = [pass_row(k, pass_flops[k], times[k]) for k in passes]
    rows.append(
        pass_row('**floor** (sum of the passes)', floor_flops, floor_runs))
    rows.append(pass_row('method step', step_flops['method'], times['method']))
    rows.append(pass_row('baseline step', base_flops, times['baseline']))
    rows += [pass_row(k, pass_flops[k], times[k]) for k in unfolded]
    table_floor = common.markdown_table([
        'network pass', 'ms (median)', 'GFLOPs', 'x baseline step GFLOPs',
        'GFLOP/s (median)', 'x baseline step GFLOP/s (median of per-round '
        'ratios)'
    ], rows)
    ratios = [
        f'- method step / floor, time (median of per-round ratios): '
        f'{ratio_of_medians_per_round(times["method"], floor_runs):.2f}; '
        f'FLOPs: {step_flops["method"] / floor_flops:.3f}',
        f'- instrumented method step / floor, time: '
        f'{ratio_of_medians_per_round(total_runs, floor_runs):.2f}',
        f'- floor / baseline step: FLOPs {floor_flops / base_flops:.2f}, '
        f'time (median of per-round ratios) '
        f'{ratio_of_medians_per_round(floor_runs, times["baseline"]):.2f}',
    ]
    if unfolded:
        support = [k for k in passes if k.startswith('SupportNet')]
        folded_runs = [sum(run) for run in zip(*(times[k] for k in support))]
        plain_runs = [sum(run) for run in zip(*(times[k] for k in unfolded))]
        ratios.append(
            '- SupportNet passes as they are / folded copy (median of '
            'per-round ratios of their sums): '
            f'{ratio_of_medians_per_round(plain_runs, folded_runs):.2f}')

    values = self_sup_loss_values(model, inputs, samples, names)
    ref = values['method']
    rows = [[
        name, f'{v["loss_rcm"]:.6f}',
        f'{v["loss_rcm"] - ref["loss_rcm"]:+.2e}', f'{v["loss_mam"]:.6f}',
        f'{v["loss_mam"] - ref["loss_mam"]:+.2e}'
    ] for name, v in values.items()]
    table_loss = common.markdown_table([
        'variant (same weights, same batch)', 'loss_rcm', 'diff vs method',
        'loss_mam', 'diff vs method'
    ], rows)

    n, _, h, w = inputs.shape
    body = (
        f'Backbone {args.backbone}, batch {n}, crop {h}x{w}; '
        f'{args.repeats} rounds after 1 warm-up round, each round running '
        'every variant, the instrumented step and every network pass once. '
        'Peak memory: `/proc/self/status` VmHWM (reset through '
        '`clear_refs`) minus the RSS after setup, in a fresh process per '
        'variant. The floor is MainNet fwd+bwd at each main scale on its '
        'batch slice plus SupportNet no-grad fwd at each support scale (the '
        'folded copy the step runs); it leaves out the optimizer step and '
        'the EMA update. FLOPs: torch.utils.flop_counter.FlopCounterMode '
        '(matrix products and convolutions, a multiply-add = 2 FLOPs; '
        'element-wise ops count 0) around one step of each variant and one '
        'call of each pass. Efficiency: time ratio to the baseline over the '
        'FLOP ratio (1.0: the baseline\'s seconds per FLOP).\n\n' +
        table_step + '\n\n' + table_parts + '\n\n' + table_floor + '\n\n' +
        '\n'.join(ratios) + '\n\nRCM and MAM losses of the method variants '
        'on one deep copy each of the method model after its '
        f'{2 * (args.repeats + 1) + 1} steps on this batch:\n\n' + table_loss +
        '\n')
    common.append_results(
        'bench_train_step.py: cost of a method step vs the baseline',
        body,
        write=not args.no_write)


if __name__ == '__main__':
    main()
