# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Helpers for distributed (DDP) runs."""
import datetime
import logging
import os
import sys

import torch
from mmengine.config import Config
from mmengine.dist import barrier, is_distributed


def init_cpu_dist(cfg: Config) -> bool:
    """Start the gloo process group of a torchrun job on a machine without
    CUDA, before ``Runner.from_cfg(cfg)``.

    mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device``
    before ``init_process_group``, which current torch refuses without a GPU.
    ``Runner.setup_env`` starts a process group only when none exists
    (``not is_distributed()``), so a group started here is the one the
    runner uses. The group reads ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``
    and ``MASTER_PORT`` from the environment that torchrun sets. Delete
    this with an mmengine whose launcher skips ``set_device`` without CUDA.

    Args:
        cfg (Config): The runner's config: ``launcher`` and
            ``env_cfg.dist_cfg`` (``backend``, ``timeout`` in seconds and
            the other arguments of ``init_process_group``).

    Returns:
        bool: Whether a group was started: launcher ``'pytorch'``, backend
        ``'gloo'``, no CUDA and no group yet. Otherwise the runner starts
        (or fails to start) the group as usual.
    """
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if (cfg.get('launcher', 'none') != 'pytorch' or backend != 'gloo'
            or dist_cfg.pop('init_backend', 'torch') != 'torch'
            or torch.cuda.is_available() or is_distributed()):
        return False
    # seconds, as mmengine's init_dist takes them
    if dist_cfg.get('timeout') is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch.distributed.init_process_group(backend=backend, **dist_cfg)
    return True


def shutdown_distributed() -> None:
    """End a distributed job in step on every rank, then end the process.

    A no-op outside a distributed run. mmengine leaves the process group to
    the interpreter's exit. All ranks meet at a barrier and destroy their
    group; then the process exits at once (``os._exit(0)`` after flushing
    the logs and streams). With torch 2.14 and gloo on the CPU, a rank that
    went through the normal interpreter exit aborted in about 1 of 12 runs
    under load ("terminate called without an active exception", no Python
    frame left: a C++ thread still joinable when static objects are
    destroyed), and torchrun then failed a job that had finished. Only call
    it as the last statement of a tool.
    """
    if not is_distributed():
        return
    barrier()
    torch.distributed.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
