# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The recipe is the global batch: a training config on 1, 2, 4 or 8 GPUs.

Every shipped training config states the global batch its recipe (lr,
iterations) was made for as mmengine's
``auto_scale_lr = dict(enable=False, base_batch_size=B)``. ``batch_size`` in
``train_dataloader`` is per process, so ``G`` processes train on
``G x batch_size`` images a step; the recipe holds when that product (times
``optim_wrapper.accumulative_counts``) is ``B``:

- :func:`scale_out_plan`: per GPU count, the images per GPU, gradient
  accumulation, iterations and lr that keep the recipe (the table of
  docs/user_guides/8_distributed.md);
- :func:`keep_global_batch`: make a config train at ``B`` on a given number
  of processes, by a larger per-process batch or by gradient accumulation;
- :func:`enable_auto_scale_lr`: ``tools/train.py --auto-scale-lr``, the lr
  scaled linearly to the global batch actually used.
"""
import copy
import logging
import os
from typing import Dict, Optional

from mmengine.config import Config
from mmengine.logging import print_log

#: Ways of :func:`keep_global_batch` to reach the global batch.
KEEP_MODES = ('device', 'accumulate')


def recipe_batch_size(cfg: Config) -> int:
    """The global batch of the config's recipe (``auto_scale_lr``).

    Raises:
        KeyError: The config sets no ``auto_scale_lr.base_batch_size``.
    """
    base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    if not isinstance(base, int) or base < 1:
        raise KeyError(
            f'{cfg.filename or "the config"}: auto_scale_lr.base_batch_size '
            f'must be the global batch of the recipe (an int >= 1), got '
            f'{base!r}; add auto_scale_lr = dict(enable=False, '
            'base_batch_size=<GPUs x images per GPU>)')
    return base


def accumulative_counts(cfg: Config) -> int:
    """``optim_wrapper.accumulative_counts`` (1 when unset)."""
    return int(cfg.get('optim_wrapper', {}).get('accumulative_counts', 1))


def scale_out_plan(cfg: Config, num_gpus: int) -> Dict[str, object]:
    """How ``num_gpus`` GPUs keep the config's recipe.

    Images per GPU ``B / num_gpus`` when that divides, the config's
    iterations and lr unchanged; when ``B`` does not divide, no plan.

    Args:
        cfg (Config): A training config with ``auto_scale_lr``.
        num_gpus (int): The number of GPUs (processes).

    Returns:
        dict: ``gpus``, ``batch_size`` (per GPU), ``global_batch``,
        ``iters`` and ``lr``; ``batch_size`` None when ``B`` does not
        divide by ``num_gpus``.
    """
    base = recipe_batch_size(cfg)
    return dict(
        gpus=num_gpus,
        batch_size=base // num_gpus if base % num_gpus == 0 else None,
        global_batch=base,
        iters=cfg.train_cfg.get('max_iters', cfg.train_cfg.get('max_epochs')),
        lr=cfg.optim_wrapper.optimizer.lr)


def _scale_iters(cfg: Config, factor: int) -> None:
    """Multiply every iteration count of the schedule by ``factor``: with
    gradient accumulation an iteration is a micro-batch, and mmengine's
    loops, hooks and iteration-based schedulers count iterations."""
    train_cfg = cfg.train_cfg
    # an epoch-based loop counts val_interval in epochs, which accumulation
    # does not change
    keys = ('max_iters', 'val_interval') if 'max_iters' in train_cfg else ()
    for key in keys:
        if train_cfg.get(key) is not None:
            train_cfg[key] = train_cfg[key] * factor
    # the segmentor's own iteration counts (DualCAMSegmentor's warm-up before
    # RCM and MAM), compared with the runner's iteration
    model_train_cfg = cfg.get('model', {}).get('train_cfg') or {}
    if model_train_cfg.get('self_sup_start_iter'):
        model_train_cfg['self_sup_start_iter'] *= factor
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for scheduler in schedulers:
        for key in ('begin', 'end'):
            if key in scheduler and not scheduler.get('by_epoch', True):
                scheduler[key] = scheduler[key] * factor
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint is not None and not checkpoint.get('by_epoch', True):
        checkpoint['interval'] = checkpoint.get('interval', -1) * factor


def keep_global_batch(cfg: Config,
                      world_size: int = 1,
                      mode: str = 'accumulate') -> Config:
    """A copy of ``cfg`` that trains at its recipe's global batch.

    ``mode='device'`` sets the per-process ``batch_size`` to
    ``B / world_size``: the exact recipe, BatchNorm statistics over the
    whole global batch included (as SyncBN over the recipe's GPUs), at the
    memory of that batch. ``mode='accumulate'`` keeps the per-process batch
    ``b`` and accumulates gradients over ``B / (world_size x b)``
    micro-batches (``optim_wrapper.accumulative_counts``); the iteration
    counts of the schedule (``max_iters``, ``val_interval``, iteration-
    based schedulers, the checkpoint interval) are multiplied by that
    factor, since mmengine counts micro-batches as iterations: the same
    optimizer steps and lr curve, at the memory of ``b`` images, with
    BatchNorm statistics over ``b`` images (and, for the method, RCM's
    prototypes and memory and MAM's share per micro-batch: a warning says
    so). The segmentor's ``train_cfg.self_sup_start_iter`` is multiplied
    too. A config already at ``B`` is
    returned unchanged (a copy).

    Args:
        cfg (Config): A training config with ``auto_scale_lr``.
        world_size (int): Processes that will train it. Defaults to 1.
        mode (str): 'device' or 'accumulate'. Defaults to 'accumulate'.

    Returns:
        Config: The adapted copy.

    Raises:
        ValueError: An unknown mode, or a global batch that the processes
            (and, accumulating, their batches) do not divide.
    """
    if mode not in KEEP_MODES:
        raise ValueError(
            f'keep_global_batch: mode must be one of {KEEP_MODES}, got '
            f'{mode!r}')
    cfg = copy.deepcopy(cfg)
    base = recipe_batch_size(cfg)
    batch = cfg.train_dataloader.batch_size
    if world_size * batch * accumulative_counts(cfg) == base:
        return cfg
    if mode == 'device':
        if base % world_size:
            raise ValueError(
                f'{cfg.filename}: the global batch {base} does not divide '
                f'over {world_size} processes')
        cfg.train_dataloader.batch_size = base // world_size
        cfg.optim_wrapper.pop('accumulative_counts', None)
        return cfg
    if accumulative_counts(cfg) != 1 or base % (world_size * batch):
        raise ValueError(
            f'{cfg.filename}: the global batch {base} is no multiple of '
            f'{world_size} processes x {batch} images (accumulative_counts='
            f'{accumulative_counts(cfg)}); set train_dataloader.batch_size '
            'or use mode="device"')
    factor = base // (world_size * batch)
    cfg.optim_wrapper.accumulative_counts = factor
    _scale_iters(cfg, factor)
    if any(
            cfg.get('model', {}).get(head)
            for head in ('rcm_head', 'mam_head')):
        print_log(
            f'{cfg.filename}: accumulating {factor} micro-batches of '
            f'{world_size} x {batch} images; RCM builds its prototypes and '
            'memory and MAM takes its share per micro-batch, not over the '
            f'recipe\'s {base} images: for the exact recipe use '
            "mode='device' (--global-batch device)",
            logger='current',
            level=logging.WARNING)
    return cfg


def enable_auto_scale_lr(cfg: Config) -> Optional[float]:
    """Turn on mmengine's ``auto_scale_lr`` (``tools/train.py
    --auto-scale-lr``): the lr is scaled by the ratio of the global batch
    actually used to the recipe's, linearly (Goyal et al., 2017).

    mmengine's ``Runner.scale_lr`` counts ``world_size x batch_size`` images
    and ignores gradient accumulation; ``base_batch_size`` is therefore
    divided here by ``optim_wrapper.accumulative_counts``, so that
    accumulation counts as a larger batch.

    Args:
        cfg (Config): A training config with ``auto_scale_lr``, changed in
            place.

    Returns:
        float: The ``base_batch_size`` that mmengine will compare with
        ``world_size x batch_size``.
    """
    base = recipe_batch_size(cfg)
    cfg.auto_scale_lr.enable = True
    cfg.auto_scale_lr.base_batch_size = base / accumulative_counts(cfg)
    return cfg.auto_scale_lr.base_batch_size


def launcher_world_size(launcher: str = 'none') -> int:
    """The number of processes of this run, before any process group
    exists, from what its launcher sets in the environment (as mmengine's
    ``init_dist`` reads it): 'pytorch' (torchrun) ``WORLD_SIZE``, 'slurm'
    ``SLURM_NTASKS``, 'mpi' ``OMPI_COMM_WORLD_SIZE``; 1 for 'none'.

    Raises:
        KeyError: The launcher's variable is not set.
    """
    if launcher == 'none':
        return 1
    key = dict(
        pytorch='WORLD_SIZE', slurm='SLURM_NTASKS',
        mpi='OMPI_COMM_WORLD_SIZE')[launcher]
    if key not in os.environ:
        raise KeyError(f'--launcher {launcher}: {key} is not set; start the '
                       'job with its launcher (tools/dist_train.sh, '
                       'tools/slurm_train.sh)')
    return int(os.environ[key])
