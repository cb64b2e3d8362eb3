# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Killed training resumes exactly."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from mmseg_wsss.utils import load_checkpoint_safely

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

    # the resumed run in this process (one thread, as the others): one
    # start-up less
    resumed_cfg = Config.fromfile(plain)
    resumed_cfg.merge_from_dict(dict(work_dir=resumed_dir, resume=True))
    runner = Runner.from_cfg(resumed_cfg)
    runner.train()
    assert runner.iter == 4

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
