# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Helpers shared by the ``bench_*.py`` scripts.

Machine facts, interleaved timing with medians, peak memory of fresh
subprocesses, the toy data set, toy configs, models and preprocessed batches,
and the writer of ``benchmarks/RESULTS.md``. Timings on a shared machine are
noisy, so every script compares variants side by side within one run (as
ratios) and never asserts on time.
"""
import datetime
import json
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

BENCH_DIR = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(BENCH_DIR)
RESULTS_MD = osp.join(BENCH_DIR, 'RESULTS.md')
DEFAULT_TOY_ROOT = '/tmp/bench_toy'
TOY_CONFIGS = dict(
    cam='cam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    rcm='rcm_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    mam='mam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    rcm_mam='rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    recam='recam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    # the authors' recipe preset on a 1/16-width ResNet-38
    cam_r38='cam_r38-tiny_1xb8-300it_toyvoc-96x96.py',
    rcm_mam_r38='rcm-mam_r38-tiny_1xb8-300it_toyvoc-96x96.py')
# The toy data set's classes (mmseg_wsss/datasets/toy_voc.py), as foreground
# indices 0..C-1: aeroplane, bus, cat, person, tvmonitor.
TOY_CLASS_INDICES = (0, 5, 7, 14, 19)


def raise_onednn_cache(capacity: int = 65536) -> None:
    """Re-run this script with a larger oneDNN kernel cache, if not set.

    oneDNN (torch's CPU convolutions) builds a kernel for every new shape
    and keeps 1024 of them by default. Variants with many shapes in one
    process (several crops and batches, multi-scale passes, images of many
    sizes) overflow it, and every step then rebuilds kernels: the timings
    measure the cache, not the code. The variable is read once, so the
    process restarts itself with it set (the command line is unchanged).
    """
    if 'ONEDNN_PRIMITIVE_CACHE_CAPACITY' not in os.environ:
        env = dict(os.environ, ONEDNN_PRIMITIVE_CACHE_CAPACITY=str(capacity))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def setup(threads: int = 2) -> None:
    """Fix the thread count, quieten logs and register mmseg-wsss."""
    torch.set_num_threads(threads)
    # mmcv-lite and mmseg warn on import about ops this CPU stack lacks.
    warnings.filterwarnings('ignore')
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import mmseg_wsss  # noqa: F401  (registers modules into mmseg)
    MMLogger.get_instance('mmengine', log_level='WARNING')
    init_default_scope('mmseg')


def machine_info() -> Dict[str, str]:
    """Platform, CPU count and library versions of this run."""
    import mmengine
    import mmseg
    return dict(
        platform=platform.platform(),
        cpus=str(os.cpu_count()),
        threads=str(torch.get_num_threads()),
        torch=torch.__version__,
        mmseg=mmseg.__version__,
        mmengine=mmengine.__version__)


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(np.median(np.asarray(values, dtype=np.float64)))


def interleaved_times(fns: Dict[str, Callable[[], object]],
                      repeats: int,
                      warmup: int = 1) -> Dict[str, List[float]]:
    """Wall-clock seconds of each function, run in turns.

    Round ``r`` runs every function once (A B C A B C ...), so a slow spell
    caused by another process hits all variants alike and their ratio stays
    meaningful.

    Args:
        fns (dict[str, Callable]): Functions without arguments, by name.
        repeats (int): Timed rounds.
        warmup (int): Untimed rounds first (allocator and thread pool warm
            up). Defaults to 1.

    Returns:
        dict[str, list[float]]: ``repeats`` timings per name.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def proc_status_kib(key: str) -> int:
    """A ``/proc/self/status`` value in KiB (e.g. 'VmRSS', 'VmHWM')."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(f'/proc/self/status has no key {key!r}')


def reset_peak_rss() -> int:
    """Reset the RSS high-water mark; return the current RSS in KiB.

    Writing 5 to ``/proc/self/clear_refs`` (Linux >= 4.0) resets ``VmHWM``,
    so a later ``VmHWM`` is the peak of what ran in between.
    """
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    return proc_status_kib('VmRSS')


def peak_rss_delta_mib(fn: Callable[[], object]) -> float:
    """Peak resident memory above the current level while ``fn`` runs, MiB.

    Only meaningful in a fresh process: memory that the allocator kept from
    earlier work is reused without raising the resident size.
    """
    before = reset_peak_rss()
    fn()
    return (proc_status_kib('VmHWM') - before) / 1024


def run_child(script: str, spec: dict) -> dict:
    """Run ``script --child JSON`` in a fresh interpreter; return its JSON.

    The child prints one JSON object on its last stdout line.
    """
    cmd = [sys.executable, script, '--child', json.dumps(spec)]
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f'{osp.basename(script)} child {spec} failed:\n'
                           f'{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ran_as_child(args, child_main: Callable[[dict], None]) -> bool:
    """The entry of a script that runs parts of itself in fresh processes.

    With ``--child JSON`` (:func:`run_child`) run ``child_main`` on the
    decoded spec and return True; otherwise :func:`setup` the parent and
    return False.
    """
    if args.child:
        child_main(json.loads(args.child))
        return True
    setup()
    return False


def child_runs(script: str, variants: Sequence[str],
               repeats: int) -> Dict[str, List[dict]]:
    """``repeats`` rounds of :func:`run_child`, the variants in turns.

    Each child gets ``dict(variant=name, argv=sys.argv[1:])``, so that it
    parses the parent's command line.

    Returns:
        dict: Variant -> its children's results, one per round.
    """
    runs = {name: [] for name in variants}
    for _ in range(repeats):
        for name in variants:
            runs[name].append(
                run_child(script, dict(variant=name, argv=sys.argv[1:])))
    return runs


def ensure_toy_data(data_root: str = DEFAULT_TOY_ROOT) -> str:
    """Generate the toy VOC data set at ``data_root`` unless it is there."""
    from mmseg_wsss.datasets import ensure_toy_voc
    return ensure_toy_voc(data_root)


def toy_config(name: str,
               data_root: str,
               crop: Optional[int] = None,
               batch_size: Optional[int] = None):
    """A toy config (``TOY_CONFIGS`` key) pointed at ``data_root``.

    Args:
        name (str): A key of ``TOY_CONFIGS``.
        data_root (str): Toy data set directory.
        crop (int, optional): Square training crop; the random resize scale
            follows it (4/3 of the crop, as 128 is to 96). Defaults to None
            (the config's 96).
        batch_size (int, optional): Training batch. Defaults to None (the
            config's 8).

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'toy', TOY_CONFIGS[name]))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    if crop is not None:
        cfg.model.data_preprocessor.size = (crop, crop)
        for step in cfg.train_dataloader.dataset.pipeline:
            if step.type == 'RandomCrop':
                step.crop_size = (crop, crop)
            elif step.type == 'RandomResize':
                side = round(crop * 4 / 3)
                step.scale = (side, side)
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    return cfg


def missing_data_paths(cfg) -> List[str]:
    """Split files and folders that ``cfg``'s train and test sets lack.

    Args:
        cfg (mmengine.Config): A config with ``train_dataloader`` and
            ``test_dataloader`` datasets (``data_root``, ``ann_file``,
            ``data_prefix``).

    Returns:
        list[str]: Missing paths, in the datasets' order (no repeats).
    """
    missing = []
    for key in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[key].dataset
        root = dataset.get('data_root') or ''
        wanted = [(dataset.ann_file, osp.isfile)]
        wanted += [(sub, osp.isdir)
                   for sub in dataset.get('data_prefix', {}).values() if sub]
        for sub, exists in wanted:
            path = osp.join(root, sub)
            if not exists(path) and path not in missing:
                missing.append(path)
    return missing


def check_data_root(data_root: str, make_toy: bool = False) -> str:
    """Check that ``data_root`` has the VOC layout the toy configs read.

    Any VOC-layout folder passes; a toy set is drawn (``ensure_toy_data``)
    only into a folder that does not exist, and only with ``make_toy``.
    An existing folder is never redrawn.

    Args:
        data_root (str): Data set directory.
        make_toy (bool): Draw the toy set if ``data_root`` does not exist.
            Defaults to False.

    Returns:
        str: ``data_root``.
    """
    if make_toy and not osp.exists(data_root):
        ensure_toy_data(data_root)
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'data root {data_root} does not exist '
                                '(--make-toy draws a toy set there)')
    missing = missing_data_paths(toy_config('cam', data_root))
    if missing:
        raise FileNotFoundError(
            f'data root {data_root} lacks what the configs read: '
            f'{", ".join(missing)}')
    return data_root


def r50_config(name: str, data_root: str, crop: int, batch_size: int):
    """A toy config with the VOC recipe's ResNet-50 (random init).

    Args:
        name (str): 'cam' or 'rcm_mam' (or 'rcm', 'mam').
        data_root (str): Toy data set directory.
        crop (int): Square training crop.
        batch_size (int): Training batch.

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config
    base = 'cam_r50.py' if name == 'cam' else 'rcm_mam_r50.py'
    model_cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'models', base)).model
    cfg = toy_config(name, data_root, crop, batch_size)
    model_cfg.backbone.init_cfg = None
    for key in ('rcm_head', 'mam_head', 'train_cfg'):
        if key in cfg.model:
            model_cfg[key] = cfg.model[key]
    model_cfg.data_preprocessor.size = (crop, crop)
    cfg.model = model_cfg
    return cfg


def build_model(cfg, seed: int = 0):
    """Build ``cfg.model`` in train mode with seeded weights.

    A :class:`DualCAMSegmentor` gets its first SupportNet update (the copy of
    MainNet that ``SupportNetEMAHook`` makes before training).
    """
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    if hasattr(model, 'update_support'):
        model.update_support()
    return model


def train_batch(cfg,
                batch_size: int,
                seed: int = 0) -> Tuple[torch.Tensor, list]:
    """A preprocessed training batch of the toy ``train_aug`` images.

    Runs the config's training pipeline (seeded) on the first
    ``batch_size`` images, collates them and applies the model's data
    preprocessor (normalisation, padding to the crop).

    Returns:
        tuple[Tensor, list[SegDataSample]]: Inputs (N, 3, H, W) and samples.
    """
    import random

    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS, MODELS
    random.seed(seed)
    np.random.seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate(
        [dataset[i % len(dataset)] for i in range(batch_size)])
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    data = preprocessor(batch, training=True)
    return data['inputs'], data['data_samples']


def build_optim_wrapper(model, cfg):
    """The config's optimizer wrapper for ``model``."""
    from mmengine.optim import build_optim_wrapper as build
    return build(model, cfg.optim_wrapper)


def train_step(model, optim_wrapper, inputs: torch.Tensor,
               data_samples: list) -> Dict[str, float]:
    """One optimisation step on a preprocessed batch (+ SupportNet EMA).

    What ``BaseModel.train_step`` and ``SupportNetEMAHook`` do per
    iteration, minus the data preprocessing (done once beforehand).
    """
    losses = model.loss(inputs, data_samples)
    loss, log_vars = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    if hasattr(model, 'update_support'):
        model.update_support()
    return log_vars


def markdown_table(headers: Sequence[str],
                   rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table (floats as given: format them beforehand)."""
    lines = [
        '| ' + ' | '.join(map(str, headers)) + ' |',
        '|' + '|'.join('---' for _ in headers) + '|'
    ]
    lines += ['| ' + ' | '.join(map(str, row)) + ' |' for row in rows]
    return '\n'.join(lines)


def command_line() -> str:
    """The command that started this script, relative to the repo root."""
    script = osp.relpath(osp.abspath(sys.argv[0]), REPO_ROOT)
    return shlex.join(['.venv/bin/python', script] + sys.argv[1:])


def append_results(title: str, body: str, write: bool = True) -> None:
    """Print a results section and append it to ``RESULTS.md``.

    The section starts with the date, machine, library versions and the
    exact command.

    Args:
        title (str): Section title (the script's question).
        body (str): Markdown tables and notes.
        write (bool): Append to the file (False: print only).
            Defaults to True.
    """
    info = machine_info()
    load = ' / '.join(f'{x:.1f}' for x in os.getloadavg())
    header = (
        f'## {title}\n\n'
        f'- date: {datetime.datetime.now().isoformat(timespec="seconds")}\n'
        f'- machine: {info["platform"]}, {info["cpus"]} CPUs, '
        f'torch threads {info["threads"]}; load average at the end '
        f'(1/5/15 min; other processes share the CPUs): {load}\n'
        f'- versions: torch {info["torch"]}, mmseg {info["mmseg"]}, '
        f'mmengine {info["mmengine"]}\n'
        f'- command: `{command_line()}`\n\n')
    section = header + body.rstrip() + '\n\n'
    print('\n' + section)
    if write:
        if not osp.isfile(RESULTS_MD):
            with open(RESULTS_MD, 'w') as f:
                f.write('# Benchmark results\n\nSections are appended by '
                        'the scripts in this folder (newest last); see '
                        'README.md.\n\n')
        with open(RESULTS_MD, 'a') as f:
            f.write(section)
