# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: what does every shipped VOC config cost at its real size?

For each VOC config of ``configs/`` (``CONFIG_PATTERNS``: the CAM baseline,
the method, ReCAM, the lab-code ResNet-38 configs, IRN, DeepLabV3+ R101;
a pattern that matches nothing is skipped with a note) at its own crop,
model, optimizer and data pipeline, on the CPU at batch 2 with random
weights (no pretrained file): seconds per training iteration (median after
warm-up), peak resident memory above the level after setup, the ratio to
the CAM baseline (``cam_r50_voc.py``), and for the CAM networks seconds
per image of their multi-scale + flip inference (``predict()`` through
``test_step``, the config's test pipeline). Every figure is measured twice:
in float32 and with ``--amp`` as ``tools/train.py --amp`` sets it up
(``BF16AmpOptimWrapper``: bfloat16 autocast on the CPU; inference under
the same autocast). Next to the seconds, the FLOPs of one training
iteration (forward, backward, optimizer step and SupportNet EMA) and of
one multi-scale + flip inference of the first test image, counted by
torch's ``FlopCounterMode`` (``mmseg_wsss.utils.flops``: matrix products
and convolutions) in the float32 process, and the *efficiency*: the time
ratio to the baseline over the FLOP ratio (1.0: the config runs at the
baseline's FLOPs per second; FLOPs do not depend on the machine, seconds
do).

The images are drawn, not downloaded: a VOC-layout set of VOC-sized images
(sides 375..500 px, ``make_toy_voc``) whose masks stand in for IRN's
relation labels and DeepLab's pseudo masks. Each config and precision runs
in a fresh process (``common.child_runs``): its training iteration is
``model.train_step()`` on batches made by the config's pipeline beforehand
(the runner's DataLoader workers prepare them in parallel), plus
SupportNet's EMA update where there is one (``SupportNetEMAHook``).

Usage::

    python benchmarks/bench_voc_scale.py                # every config
    python benchmarks/bench_voc_scale.py --configs wsss/cam_r50_voc.py \
        wsss/rcm_mam_r50_voc.py --iters 3 --no-amp --no-write
"""
import argparse
import glob
import json
import os.path as osp
import random
import sys
import time

import common
import numpy as np
import torch

CONFIG_DIR = osp.join(common.REPO_ROOT, 'configs')
BASELINE = 'wsss/cam_r50_voc.py'
# Relative to configs/; configs that land later join through the globs.
CONFIG_PATTERNS = (
    BASELINE,
    'wsss/rcm_mam_r50_voc.py',
    'recam/*_voc.py',
    'wsss/*r38*labcode*.py',
    'irn/*_voc.py',
    'deeplabv3plus/deeplabv3plus_r101-d8_*.py',
)
DEFAULT_DATA_ROOT = '/tmp/bench_voc_scale'
GPU_MEMORY_GIB = (16, 24, 40)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data-root',
        default=DEFAULT_DATA_ROOT,
        help='where the VOC-sized images are drawn (once)')
    parser.add_argument(
        '--configs',
        nargs='+',
        default=list(CONFIG_PATTERNS),
        help='config paths or globs relative to configs/ (the baseline '
        f'{BASELINE} is always added)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument(
        '--iters', type=int, default=2, help='timed iterations per config')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed first iterations')
    parser.add_argument(
        '--infer-images',
        type=int,
        default=2,
        help='timed images of CAM inference (after one untimed image)')
    parser.add_argument(
        '--rounds',
        type=int,
        default=1,
        help='runs of every config, in turns (ratios: median of rounds)')
    parser.add_argument('--no-amp', action='store_true', help='float32 only')
    parser.add_argument(
        '--no-write', action='store_true', help='do not touch RESULTS.md')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def find_configs(patterns):
    """Config paths (relative to configs/) matching ``patterns``.

    Returns:
        tuple[list[str], list[str]]: Found configs (baseline first, no
        repeats) and the patterns that matched nothing.
    """
    found, missing = [], []
    for pattern in [BASELINE] + [p for p in patterns if p != BASELINE]:
        paths = sorted(glob.glob(osp.join(CONFIG_DIR, pattern)))
        if not paths:
            missing.append(pattern)
        for path in paths:
            rel = osp.relpath(path, CONFIG_DIR)
            if rel not in found:
                found.append(rel)
    return found, missing


def ensure_voc_sized_data(data_root: str) -> str:
    """A VOC-layout set of 12 VOC-sized images at ``data_root`` (once)."""
    from mmseg_wsss.datasets.toy_voc import MARKER_FILE, make_toy_voc
    marker = osp.join(data_root, MARKER_FILE)
    if osp.isfile(marker):
        with open(marker) as f:
            if json.load(f).get('min_size') == 375:
                return data_root
    make_toy_voc(
        data_root,
        num_train_aug=8,
        num_train=4,
        num_val=4,
        min_size=375,
        max_size=500)
    return data_root


def voc_scale_config(rel_path: str, data_root: str, batch: int, amp: bool):
    """A shipped config pointed at ``data_root``, random weights.

    Training and test sets read ``data_root``; a training set with masks
    (IRN's relation labels, DeepLab's pseudo masks) reads its
    ``SegmentationClassAug``. Pretrained files are switched off
    (``model.backbone.init_cfg``, ``model.pretrained``, ``load_from``).
    ``amp`` applies what ``tools/train.py --amp`` does.

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config

    from mmseg_wsss.apis import cli
    cfg = Config.fromfile(osp.join(CONFIG_DIR, rel_path))
    cfg.train_dataloader.batch_size = batch
    for key in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[key].dataset
        dataset.data_root = data_root
        prefix = dataset.get('data_prefix', {})
        if key == 'train_dataloader' and prefix.get('seg_map_path'):
            prefix.seg_map_path = 'SegmentationClassAug'
    if cfg.model.backbone.get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None
    for holder in (cfg.model, cfg.model.backbone):
        if holder.get('pretrained') is not None:
            holder.pretrained = None
    cfg.load_from = None
    if amp:
        cli.enable_amp(cfg)
    return cfg


def training_batches(cfg, count: int, batch: int, seed: int = 0) -> list:
    """``count`` collated batches of the config's training pipeline."""
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return [
        pseudo_collate(
            [dataset[(i * batch + j) % len(dataset)] for j in range(batch)])
        for i in range(count)
    ]


def build_training(cfg):
    """Model (train mode, random weights) and optimizer wrapper of ``cfg``.

    As the runner does on one CPU process: SyncBN reverted to BN, and a
    SupportNet synchronised with MainNet (``SupportNetEMAHook``).
    """
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    model.train()
    if hasattr(model, 'update_support'):
        model.update_support()
    return model, common.build_optim_wrapper(model, cfg)


def training_state_mib(model, optim_wrapper) -> float:
    """Gradients and optimizer state, MiB: memory that batch size leaves."""
    tensors = [p.grad for p in model.parameters() if p.grad is not None]
    for state in optim_wrapper.optimizer.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def test_batch(cfg, index: int = 0) -> dict:
    """Image ``index`` of the config's test pipeline, as a batch of one."""
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    return pseudo_collate([dataset[index % len(dataset)]])


def step_and_inference_flops(model, optim_wrapper, cfg, data) -> dict:
    """FLOPs of one training iteration on ``data`` and of one inference.

    The iteration is ``train_step`` plus SupportNet's EMA update where there
    is one; the inference is ``test_step`` (multi-scale + flip) of the first
    test image (``None`` for models without CAM inference).
    """
    from mmseg_wsss.models.segmentors import CAMSegmentor
    from mmseg_wsss.utils.flops import count_flops

    def iteration():
        model.train_step(data, optim_wrapper)
        if hasattr(model, 'update_support'):
            model.update_support()

    step, _ = count_flops(iteration)
    infer = size = None
    if isinstance(model, CAMSegmentor):
        image = test_batch(cfg)
        size = list(image['inputs'][0].shape[-2:])
        model.eval()
        with torch.no_grad():
            infer, _ = count_flops(model.test_step, image)
        model.train()
    return dict(step_flops=step, infer_flops=infer, infer_size=size)


def inference_seconds(model, cfg, images: int, amp: bool) -> list:
    """Seconds of ``test_step`` (multi-scale + flip CAMs) per image.

    The first image is untimed; ``images`` more are timed, one at a time
    (the test loader's batch 1) at their own sizes.
    """
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    model.eval()
    times = []
    for i in range(images + 1):
        data = pseudo_collate([dataset[i % len(dataset)]])
        start = time.perf_counter()
        with torch.no_grad(), torch.autocast(
                'cpu', dtype=torch.bfloat16, enabled=amp):
            model.test_step(data)
        times.append(time.perf_counter() - start)
    model.train()
    return times[1:]


def child_main(spec: dict) -> None:
    """Time and memory of one config in one precision (fresh process)."""
    from mmseg_wsss.models.segmentors import CAMSegmentor
    args = parse_args(spec['argv'])
    common.setup()
    rel_path, precision = spec['variant'].rsplit('|', 1)
    amp = precision == 'amp'
    cfg = voc_scale_config(rel_path, args.data_root, args.batch, amp)
    batches = training_batches(cfg, args.warmup + args.iters, args.batch)
    model, optim_wrapper = build_training(cfg)
    weights = sum(t.numel() * t.element_size()
                  for t in list(model.parameters()) + list(model.buffers()))
    step_times = []

    def train():
        for data in batches:
            start = time.perf_counter()
            model.train_step(data, optim_wrapper)
            if hasattr(model, 'update_support'):
                model.update_support()
            step_times.append(time.perf_counter() - start)

    peak = common.peak_rss_delta_mib(train)
    infer = None
    if isinstance(model, CAMSegmentor):
        infer = inference_seconds(model, cfg, args.infer_images, amp)
    flops = {}
    if not amp:  # the same ops either way: counted once, in float32
        flops = step_and_inference_flops(model, optim_wrapper, cfg, batches[0])
    crop = cfg.model.data_preprocessor.get('size')
    print(
        json.dumps(
            dict(
                **flops,
                step=common.median(step_times[args.warmup:]),
                peak_mib=peak,
                weights_mib=weights / 2**20,
                state_mib=training_state_mib(model, optim_wrapper),
                infer=None if infer is None else common.median(infer),
                model=type(model).__name__,
                backbone=cfg.model.backbone.type,
                crop=list(crop) if crop else None,
                wrapper=type(optim_wrapper).__name__)))


def child_runs(variants, rounds: int) -> dict:
    """``common.child_runs``, but a failing child is recorded, not raised.

    One config that cannot run (e.g. out of memory) must not lose the
    others' figures after a long run.

    Returns:
        dict: Variant -> list of results (``{'error': message}`` for a
        failed child), one per round.
    """
    runs = {name: [] for name in variants}
    for _ in range(rounds):
        for name in variants:
            try:
                result = common.run_child(
                    osp.abspath(__file__),
                    dict(variant=name, argv=sys.argv[1:]))
            except RuntimeError as error:
                last = str(error).strip().splitlines()[-1]
                print(f'{name} failed: {last}')
                result = dict(error=last)
            runs[name].append(result)
    return runs


def batch8_gib(run: dict, batch: int) -> float:
    """Peak memory extrapolated linearly to batch 8, GiB.

    Weights, gradients and optimizer state are counted once; the rest of
    the measured peak (activations, workspace) is scaled by ``8 / batch``.
    """
    fixed = run['weights_mib'] + run['state_mib']
    per_image = max(0.0, run['peak_mib'] - run['state_mib']) / batch
    return (fixed + 8 * per_image) / 1024


def fits(gib: float) -> str:
    """The smallest of ``GPU_MEMORY_GIB`` that holds ``gib``."""
    for size in GPU_MEMORY_GIB:
        if gib <= size:
            return f'{size} GB'
    return f'> {GPU_MEMORY_GIB[-1]} GB'


def table(configs, runs, precision: str, batch: int) -> str:
    """The markdown table of one precision (FLOPs: the float32 counts)."""
    from mmseg_wsss.utils.flops import flop_efficiency
    base = runs[f'{BASELINE}|{precision}']
    base32 = runs[f'{BASELINE}|fp32'][0]
    rows = []
    for rel in configs:
        results = runs[f'{rel}|{precision}']
        run, run32 = results[0], runs[f'{rel}|fp32'][0]
        failed = [
            r['error'] for r in results + base + [run32, base32]
            if 'error' in r
        ]
        if failed:
            rows.append([f'`{rel}`', f'failed: {failed[0]}'] + ['-'] *
                        (11 if precision == 'amp' else 10))
            continue
        step = common.median([r['step'] for r in results])
        ratio = common.median(
            [r['step'] / b['step'] for r, b in zip(results, base)])
        peak = common.median([r['peak_mib'] for r in results]) / 1024
        b8 = common.median([batch8_gib(r, batch) for r in results])
        flop_ratio = run32['step_flops'] / base32['step_flops']
        # seconds per FLOP against the baseline's; as for the time ratio,
        # the median of same-round ratios
        efficiency = common.median([
            flop_efficiency(r['step'], b['step'], run32['step_flops'],
                            base32['step_flops'])
            for r, b in zip(results, base)
        ])
        row = [
            f'`{rel}`', f'{run["model"]} / {run["backbone"]}',
            'x'.join(map(str, run['crop']
                         or ['-'])), f'{step:.2f}', f'{ratio:.2f}',
            f'{run32["step_flops"] / 1e9:.1f}', f'{flop_ratio:.2f}',
            f'{efficiency:.2f}', f'{peak:.2f}', f'{b8:.1f} ({fits(b8)})'
        ]
        if run['infer'] is None:
            row += ['-', '-']
        else:
            row += [
                f'{common.median([r["infer"] for r in results]):.2f}',
                f'{run32["infer_flops"] / 1e9:.1f} '
                f'({"x".join(map(str, run32["infer_size"]))})'
            ]
        if precision == 'amp':
            speedup = common.median([
                a['step'] / b['step']
                for a, b in zip(runs[f'{rel}|fp32'], results)
            ])
            row.append(f'{speedup:.2f}')
        rows.append(row)
    headers = [
        'config', 'segmentor / backbone', 'crop', 's/iter (median)',
        'x CAM baseline', 'GFLOPs/iter', 'x baseline GFLOPs',
        'efficiency (time ratio / FLOP ratio)', 'peak RSS above setup (GiB)',
        'batch 8, extrapolated (GiB; smallest GPU of 16/24/40 GB)',
        's/image, multi-scale + flip inference',
        'GFLOPs of that inference (first test image, HxW)'
    ]
    if precision == 'amp':
        headers.append('speed-up vs float32 (s/iter)')
    return common.markdown_table(headers, rows)


def main() -> None:
    args = parse_args()
    common.raise_onednn_cache()
    if common.ran_as_child(args, child_main):
        return
    configs, missing = find_configs(args.configs)
    for pattern in missing:
        print(f'skipped: no config matches configs/{pattern}')
    ensure_voc_sized_data(args.data_root)
    precisions = ['fp32'] + ([] if args.no_amp else ['amp'])
    variants = [f'{rel}|{p}' for p in precisions for rel in configs]
    runs = child_runs(variants, args.rounds)
    wrapper = runs[f'{BASELINE}|{precisions[-1]}'][0].get('wrapper')
    notes = (
        f'Batch {args.batch} on the CPU, random weights (no pretrained '
        f'file), VOC-sized drawn images (sides 375..500 px); per config '
        f'and precision a fresh process, {args.warmup} untimed + '
        f'{args.iters} timed training iterations (`train_step` + '
        f'SupportNet EMA), {args.rounds} round(s), configs in turns; '
        'ratios are medians of same-round ratios. Peak RSS: VmHWM minus '
        'the RSS after setup (model, optimizer, batches) over the training '
        'iterations. Inference: `test_step` of one image at its size, '
        f'median of {args.infer_images} after an untimed one. '
        '**Batch 8 is an extrapolation**, not a measurement: weights, '
        'gradients and optimizer state once, the rest of the measured '
        'peak times 8 / batch; GPU memory also holds the CUDA context and '
        'cuDNN workspaces and differs from CPU RSS, so read it as a rough '
        'guide. FLOPs: torch.utils.flop_counter.FlopCounterMode (matrix '
        'products and convolutions, a multiply-add = 2 FLOPs; element-wise '
        'ops count 0) around one iteration after the timed ones (forward, '
        'backward, optimizer step, SupportNet EMA) and one `test_step` of '
        'the first test image, in the float32 process (the --amp rows use '
        'the same counts). Efficiency: the time ratio to the baseline over '
        'the FLOP ratio (1.0: as many seconds per FLOP as the baseline; '
        'above 1: slower per FLOP). ')
    body = notes + '\n\n### float32\n\n' + table(configs, runs, 'fp32',
                                                 args.batch)
    if 'amp' in precisions:
        body += (f'\n\n### --amp ({wrapper}, bfloat16 autocast)\n\n' +
                 table(configs, runs, 'amp', args.batch))
    if missing:
        body += '\n\nNot in this tree (skipped): ' + ', '.join(
            f'`configs/{p}`' for p in missing)
    common.append_results(
        'bench_voc_scale.py: every shipped VOC config at its real size',
        body + '\n',
        write=not args.no_write)


if __name__ == '__main__':
    main()
