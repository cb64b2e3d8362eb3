# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Killed training resumes exactly; a crash while saving loses nothing."""
import glob
import os
import os.path as osp
import resource
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner, find_latest_checkpoint, save_checkpoint

from mmseg_wsss.compat import (TEMP_SUFFIX, load_checkpoint_safely,
                               patch_mmengine_checkpoint_saving)

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
BASELINE = osp.join(REPO_ROOT, 'configs', 'toy',
                    'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')


def _start_training(config, work_dir, *args):
    """Run ``tools/train.py`` in a subprocess that can import the hook."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([HERE,
                                    os.environ.get('PYTHONPATH', '')]),
        # two runs share the two cores; the same thread count everywhere
        OMP_NUM_THREADS='1')
    return subprocess.Popen(
        [sys.executable, TRAIN, config, '--work-dir', work_dir, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def _finish(proc):
    """Wait for a training subprocess; return its return code and log."""
    log, _ = proc.communicate(timeout=600)
    return proc.returncode, log


def _checkpoint_names(work_dir):
    return sorted(
        osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth')))


def test_sigkill_then_resume_reproduces_the_uninterrupted_run(
        toy_voc, tmp_path, toy_cfg):
    cfg = toy_cfg(BASELINE, toy_voc, tmp_path, iters=4)
    plain = str(tmp_path / 'plain.py')
    cfg.dump(plain)
    cfg.custom_imports = dict(
        imports=['mmseg_wsss', 'sigkill_hook'], allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='SigkillAfterIterHook', after_iter=3)
    ]
    killed = str(tmp_path / 'killed.py')
    cfg.dump(killed)
    full_dir, resumed_dir = str(tmp_path / 'full'), str(tmp_path / 'resumed')

    runs = [
        _start_training(plain, full_dir),
        _start_training(killed, resumed_dir)
    ]
    (full_rc, full_log), (killed_rc, killed_log) = map(_finish, runs)
    assert full_rc == 0, full_log
    assert killed_rc == -signal.SIGKILL, killed_log
    # died after iteration 3: the checkpoint of iteration 2 is the latest
    assert _checkpoint_names(resumed_dir) == ['iter_2.pth']
    assert find_latest_checkpoint(resumed_dir).endswith('iter_2.pth')

    rc, log = _finish(_start_training(plain, resumed_dir, '--resume'))
    assert rc == 0, log
    assert 'Advance dataloader 2 steps' in log

    full = load_checkpoint_safely(osp.join(full_dir, 'iter_4.pth'))
    resumed = load_checkpoint_safely(osp.join(resumed_dir, 'iter_4.pth'))
    assert full['meta']['iter'] == resumed['meta']['iter'] == 4
    assert full['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in full['state_dict'].items():
        # bit-identical: the replayed batches consume the same random draws
        assert torch.equal(value, resumed['state_dict'][key]), key
    full_opt = full['optimizer']['state']
    resumed_opt = resumed['optimizer']['state']
    assert full_opt.keys() == resumed_opt.keys()
    for key, state in full_opt.items():
        assert torch.equal(state['momentum_buffer'],
                           resumed_opt[key]['momentum_buffer'])


@contextmanager
def _file_size_limit(num_bytes):
    """Make writes beyond ``num_bytes`` fail, as on a full disk (EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # without this the kernel kills the process instead of failing the write
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (num_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _assert_only_checkpoint(work_dir, path, weights):
    """``path`` is the one, intact checkpoint and ``last_checkpoint``."""
    assert find_latest_checkpoint(str(work_dir)) == path
    assert _checkpoint_names(work_dir) == [osp.basename(path)]
    assert not glob.glob(osp.join(work_dir, '.*' + TEMP_SUFFIX))
    loaded = load_checkpoint_safely(path)['state_dict']
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)


def test_failed_save_leaves_the_previous_checkpoint_loadable(
        toy_voc, tmp_path, toy_cfg):
    # what `import mmseg_wsss` is meant to do; a no-op once it does
    patch_mmengine_checkpoint_saving()
    # max_keep_ckpts=1 as in the toy schedules: stock mmengine deletes the
    # kept checkpoint before it writes the next one
    checkpoint = dict(interval=1, max_keep_ckpts=1)
    runner = Runner.from_cfg(
        toy_cfg(
            BASELINE,
            toy_voc,
            tmp_path,
            iters=2,
            default_hooks=dict(checkpoint=checkpoint)))
    runner.train()
    latest = str(tmp_path / 'iter_2.pth')
    assert _checkpoint_names(tmp_path) == ['iter_2.pth']
    weights = load_checkpoint_safely(latest)['state_dict']

    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    with _file_size_limit(4096), pytest.raises(OSError, match='too large'):
        hook._save_checkpoint_with_step(runner, 3, dict(iter=3))
    _assert_only_checkpoint(tmp_path, latest, weights)
    # a rewrite of the latest file itself (the best-checkpoint path does it)
    with _file_size_limit(4096), pytest.raises(OSError, match='too large'):
        save_checkpoint(dict(state_dict=runner.model.state_dict()), latest)
    _assert_only_checkpoint(tmp_path, latest, weights)

    resumed = Runner.from_cfg(
        toy_cfg(BASELINE, toy_voc, tmp_path, iters=4, resume=True))
    resumed.load_or_resume()
    assert resumed.iter == 2
