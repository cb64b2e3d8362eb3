# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Fixtures shared by all tests."""
import copy
import importlib.util
import os
import os.path as osp

import mmengine.config.config
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from toy_subsets import link_toy_subset, toy_names

# first, so that its mmcv-lite shim is in place before tests import mmseg
import mmseg_wsss

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOY_CONFIG = osp.join(REPO_ROOT, 'configs', 'toy',
                      'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
TRAIN_ITERS = 20


def pytest_configure(config):
    """One intra-op thread in each pytest-xdist worker.

    ``make test`` runs the suite in two workers (``-n 2``) with
    ``OMP_NUM_THREADS=1``; this covers ``pytest -n N`` started by hand.
    The tests' tensors are small: a process of two threads spends more CPU
    time than one of one thread, and under other load its threads wait
    for each other (benchmarks/RESULTS.md, "The test suite in two
    workers"); two workers of two threads would share two cores four ways.
    """
    if os.environ.get('PYTEST_XDIST_WORKER'):
        torch.set_num_threads(1)
        os.environ['OMP_NUM_THREADS'] = '1'  # for the tests' subprocesses


@pytest.fixture(scope='session', autouse=True)
def unformatted_config_text():
    """Config text as mmengine writes it with ``format_python_code=False``.

    mmengine formats a config's text with yapf whenever it logs it, dumps it
    or stores it in a checkpoint: about 0.4 s each time, several times per
    ``Runner``, which was most of the time of the end-to-end tests. The
    unformatted text is the same Python; only its layout differs. Tools
    that the tests start as subprocesses still format it.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mmengine.config.config, 'FormatCode',
                      lambda text, **kwargs: (text, False))
        yield


@pytest.fixture(scope='session')
def make_toy_voc():
    """``make_toy_voc(out_dir, seed=0, ...)``: draws a toy VOC set."""
    return mmseg_wsss.datasets.make_toy_voc


@pytest.fixture(scope='session')
def toy_voc(tmp_path_factory, make_toy_voc) -> str:
    """Path of the toy VOC data set (seed 0), generated once per session.

    Treat it as read-only: tests that break files make their own set.
    """
    out_dir = str(tmp_path_factory.mktemp('toy_voc'))
    make_toy_voc(out_dir, seed=0)
    return out_dir


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool(name)``: the module ``tools/{name}.py``.

    ``tools`` is not a package, so scripts are imported from their path;
    calling their ``main(argv)`` in-process saves a Python start-up.
    """

    def load(name: str):
        path = osp.join(REPO_ROOT, 'tools', name + '.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope='session')
def toy_cam_checkpoint(toy_voc, tmp_path_factory):
    """The toy baseline trained for a few iterations on ``toy_voc``.

    A real mmengine ``Runner`` trains it; its CAMs are poor but real. Test
    time uses scales (1.0, 0.5) + flip to keep the export tests fast.

    Returns:
        tuple[str, str]: Path of the config (data root set to ``toy_voc``)
        and of the checkpoint.
    """
    work_dir = str(tmp_path_factory.mktemp('toy_cam'))
    cfg = Config.fromfile(TOY_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = toy_voc
    cfg.model.test_cfg.scales = (1.0, 0.5)
    cfg_path = osp.join(work_dir, 'toy_cam.py')
    cfg.dump(cfg_path)

    train_cfg = copy.deepcopy(cfg)
    train_cfg.merge_from_dict({
        'work_dir': work_dir,
        'train_cfg.max_iters': TRAIN_ITERS,
        'param_scheduler.0.end': TRAIN_ITERS,
        'default_hooks.checkpoint.interval': TRAIN_ITERS,
        'default_hooks.logger.interval': TRAIN_ITERS,
    })
    # no validation: it would cost more than the training
    train_cfg.val_cfg = train_cfg.val_dataloader = None
    train_cfg.val_evaluator = None
    Runner.from_cfg(train_cfg).train()
    return cfg_path, osp.join(work_dir, f'iter_{TRAIN_ITERS}.pth')


@pytest.fixture(scope='session')
def small_root(toy_voc, tmp_path_factory):
    """The toy data set with splits ``train`` (its first 16 images) and
    ``train4`` (its first 4)."""
    names = toy_names(toy_voc, 'train', 16)
    return link_toy_subset(toy_voc, tmp_path_factory.mktemp('small_voc'),
                           dict(train=names, train4=names[:4]))
