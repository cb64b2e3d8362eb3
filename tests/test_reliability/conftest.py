# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Fixtures of the reliability tests: breakable toy sets, tiny models."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from tiny_cam_net import build_segmentor, labelled_batch

# first, so that its mmcv-lite shim is in place before tests import mmseg
import mmseg_wsss  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_BASELINE = osp.join(REPO_ROOT, 'configs', 'toy',
                        'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
TOY_METHOD = osp.join(REPO_ROOT, 'configs', 'toy',
                      'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
SPLIT_DIR = osp.join('ImageSets', 'Segmentation')


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each test on one intra-op thread, then restore the count.

    Tiny tensors gain nothing from a thread pool, and when other processes
    share the two cores its waiting costs seconds per convolution.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small_voc(tmp_path, make_toy_voc):
    """A fresh 6 + 2 image toy set that a test may break."""
    root = str(tmp_path / 'voc')
    make_toy_voc(root, seed=1, num_train_aug=6, num_train=3, num_val=2)
    return root


def _tiny_model(type='DualCAMSegmentor', **kwargs):
    """A tiny CAM segmentor; a DualCAMSegmentor has a synchronised
    SupportNet."""
    if type == 'DualCAMSegmentor':
        kwargs.setdefault('rcm_head', dict(type='RCMHead', memory_size=2))
    model = build_segmentor(type, **kwargs)
    if type == 'DualCAMSegmentor':
        model.update_support()
    return model


def _tiny_batch(labels, size=32, seed=0):
    """Random images (N, 3, size, size) and samples with these labels."""
    return labelled_batch(labels, size, seed)


def _toy_cfg(path, data_root, work_dir, iters=4, batch_size=2, **options):
    """A toy config: ``iters`` iterations, checkpoints every 2, no
    validation."""
    cfg = Config.fromfile(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_cfg.max_iters = iters
    # lr stays > 0 to the end, so every iteration changes the weights
    cfg.param_scheduler[0].end = 10 * iters
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return cfg


@pytest.fixture(scope='session')
def tiny_model():
    """``tiny_model(type='DualCAMSegmentor', **cfg)``: a tiny segmentor."""
    return _tiny_model


@pytest.fixture(scope='session')
def tiny_batch():
    """``tiny_batch(labels, size=32, seed=0)``: images and data samples."""
    return _tiny_batch


@pytest.fixture(scope='session')
def toy_cfg():
    """``toy_cfg(path, data_root, work_dir, iters=4, ...)``: a short toy
    config."""
    return _toy_cfg
