# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
from mmengine.config import Config
from subprocess_utils import free_port

from mmseg_wsss.utils import init_cpu_dist, shutdown_distributed


def test_shutdown_distributed_without_a_process_group_does_nothing():
    # the tools call it unconditionally; two ranks are tested under torchrun
    # in tests/test_engine/test_distributed.py
    assert not torch.distributed.is_initialized()
    shutdown_distributed()
    assert not torch.distributed.is_initialized()


def _cfg(launcher='pytorch', **dist_cfg):
    return Config(
        dict(
            launcher=launcher,
            env_cfg=dict(dist_cfg=dict(dict(backend='gloo'), **dist_cfg))))


@pytest.mark.parametrize('cfg', [
    _cfg(launcher='none'),
    _cfg(launcher='slurm'),
    _cfg(backend='nccl'),
    _cfg(init_backend='deepspeed'),
    Config(dict(launcher='pytorch')),
])
def test_init_cpu_dist_leaves_other_launches_to_the_runner(cfg):
    assert not init_cpu_dist(cfg)
    assert not torch.distributed.is_initialized()


def test_init_cpu_dist_leaves_gpus_to_the_runner(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert not init_cpu_dist(_cfg())
    assert not torch.distributed.is_initialized()


def test_init_cpu_dist_starts_the_group_the_runner_keeps(monkeypatch):
    # one rank as torchrun would describe it; two ranks run under torchrun
    # in tests/test_engine/test_distributed.py
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for key, value in dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    try:
        assert init_cpu_dist(_cfg(timeout=60))
        assert torch.distributed.get_backend() == 'gloo'
        assert torch.distributed.get_world_size() == 1
        # a second call (or the runner's setup_env) finds the group
        assert not init_cpu_dist(_cfg())
    finally:
        torch.distributed.destroy_process_group()
