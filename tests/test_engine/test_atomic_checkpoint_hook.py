# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A crash while saving a checkpoint loses nothing (AtomicCheckpointHook)."""
import glob
import os.path as osp
import resource
import signal
from contextlib import contextmanager

import pytest
import torch
from linear_runner import linear_runner
from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

from mmseg_wsss.engine import AtomicCheckpointHook
from mmseg_wsss.utils import TEMP_SUFFIX, load_checkpoint_safely

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# max_keep_ckpts=1 as in the toy configs: stock mmengine deletes the kept
# checkpoint before it writes the next one
HOOKS = dict(
    atomic=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1),
    stock=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))


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


def _checkpoint_names(work_dir):
    return sorted(
        osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth')))


def _trained(work_dir, kind):
    """A runner trained 2 iterations, its hook and its checkpoint's
    weights."""
    runner = linear_runner(
        str(work_dir),
        f'{work_dir.name}-{kind}',
        2,
        checkpoint=HOOKS[kind],
        default_scope='mmseg')
    runner.train()
    hook = next(
        h for h in runner.hooks if type(h).__name__ == HOOKS[kind]['type'])
    latest = str(work_dir / 'iter_2.pth')
    return runner, hook, latest, load_checkpoint_safely(latest)['state_dict']


def _assert_only_checkpoint(work_dir, path, weights):
    """``path`` is the one, intact checkpoint and ``last_checkpoint``."""
    assert find_latest_checkpoint(str(work_dir)) == path
    assert _checkpoint_names(work_dir) == [osp.basename(path)]
    assert not glob.glob(osp.join(work_dir, '.*' + TEMP_SUFFIX))
    loaded = load_checkpoint_safely(path)['state_dict']
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)


def test_failed_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    runner, hook, latest, weights = _trained(tmp_path, 'atomic')
    assert _checkpoint_names(tmp_path) == ['iter_2.pth']
    # written through the atomic backend
    assert hook.backend_args == dict(backend='local_atomic')

    with _file_size_limit(512), pytest.raises(OSError, match='too large'):
        hook._save_checkpoint_with_step(runner, 3, dict(iter=3))
    _assert_only_checkpoint(tmp_path, latest, weights)
    # a rewrite of the latest file itself (the best-checkpoint path does it)
    with _file_size_limit(512), pytest.raises(OSError, match='too large'):
        hook._save_checkpoint_with_step(runner, 2, dict(iter=2))
    _assert_only_checkpoint(tmp_path, latest, weights)

    resumed = linear_runner(
        str(tmp_path),
        f'{tmp_path.name}-resumed',
        4,
        checkpoint=HOOKS['atomic'],
        default_scope='mmseg',
        resume=True)
    resumed.load_or_resume()
    assert resumed.iter == 2
    assert resumed.message_hub.get_info('keep_ckpt_ids') == [2]
    resumed.train()
    _assert_only_checkpoint(
        tmp_path, str(tmp_path / 'iter_4.pth'),
        load_checkpoint_safely(str(tmp_path / 'iter_4.pth'))['state_dict'])


def test_stock_hook_loses_the_checkpoint(tmp_path):
    # why the hook exists: the day this fails, mmengine saves safely itself
    runner, hook, _, _ = _trained(tmp_path, 'stock')
    with _file_size_limit(512), pytest.raises(OSError, match='too large'):
        hook._save_checkpoint_with_step(runner, 3, dict(iter=3))
    assert _checkpoint_names(tmp_path) == ['iter_3.pth']
    with pytest.raises(RuntimeError, match='zip archive'):
        load_checkpoint_safely(str(tmp_path / 'iter_3.pth'))


def test_configs_choose_the_hook():
    for path in ('configs/toy/cam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
                 'configs/wsss/cam_r50_voc.py'):
        cfg = Config.fromfile(osp.join(REPO_ROOT, path))
        hook = cfg.default_hooks.checkpoint
        assert hook.type == AtomicCheckpointHook.__name__
