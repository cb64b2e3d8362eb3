# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The IRN relation network trains and refines CAMs through real Runners."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image
from subprocess_utils import free_port, run_logged, subprocess_env

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'irn',
                  'irn_r18-tiny_1xb8-300it_toyvoc-192x192.py')
# IRN's own network (five-level head, IRN's pairs, padded test images)
TV_CONFIG = osp.join(REPO_ROOT, 'configs', 'irn',
                     'irn_r18-tv-tiny_1xb8-300it_toyvoc-192x192.py')
NUM_TRAIN = 8  # images of train_aug given relation labels
NUM_TEST = 4  # images of train given CAMs


def _names(toy_voc, split, count):
    with open(osp.join(toy_voc, 'ImageSets', 'Segmentation',
                       f'{split}.txt')) as f:
        return f.read().split()[:count]


def _mask(toy_voc, name):
    return np.asarray(
        Image.open(osp.join(toy_voc, 'SegmentationClassAug', name + '.png')))


def _write_relation_labels(toy_voc, out_dir):
    """Relation label PNGs from the masks, a quarter of the pixels unknown
    (255) besides the masks' own boundary band."""
    rng = np.random.default_rng(0)
    for name in _names(toy_voc, 'train_aug', NUM_TRAIN):
        labels = _mask(toy_voc, name).copy()
        labels[rng.random(labels.shape) < 0.25] = 255
        Image.fromarray(labels).save(osp.join(out_dir, name + '.png'))


def _write_cams(toy_voc, out_dir):
    """CAM files as the export writes them: blurred masks of the classes of
    each image, scaled to a maximum of 1. Returns name -> classes."""
    classes_of = {}
    for name in _names(toy_voc, 'train', NUM_TEST):
        mask = torch.from_numpy(_mask(toy_voc, name).astype(np.int64))
        classes = [c for c in mask.unique().tolist() if 0 < c < 255]
        onehot = torch.stack([(mask == c).float() for c in classes])[None]
        cams = F.avg_pool2d(onehot, 9, stride=1, padding=4)
        # and at stride 4, normalised there, the random walk's input
        strided = F.avg_pool2d(cams, 4, ceil_mode=True)[0]
        strided = strided / strided.flatten(1).amax(1)[:, None, None]
        cams = cams[0] / cams[0].flatten(1).amax(1)[:, None, None]
        np.savez(
            osp.join(out_dir, name + '.npz'),
            cams=cams.numpy().astype(np.float16),
            classes=np.array(classes, np.uint8),
            strided_cams=strided.numpy())
        classes_of[name] = classes
    return classes_of


@pytest.mark.parametrize(
    'config', [CONFIG, TV_CONFIG], ids=['r18-tiny', 'r18-tv-tiny'])
def test_irn_trains_and_refines_cams(toy_voc, tmp_path_factory, config):
    # a short folder name: mmengine formats the config with yapf, which
    # takes seconds on the long lines that long paths make
    tmp_path = tmp_path_factory.mktemp('irn')
    relation_dir, cam_dir, out_dir = (
        tmp_path / d for d in ('relation', 'cams', 'out'))
    relation_dir.mkdir()
    cam_dir.mkdir()
    _write_relation_labels(toy_voc, str(relation_dir))
    classes_of = _write_cams(toy_voc, str(cam_dir))

    cfg = Config.fromfile(config)
    iters = 3
    cfg.merge_from_dict({
        'work_dir':
        str(tmp_path / 'work'),
        'train_dataloader.batch_size':
        4,
        'train_dataloader.dataset.data_root':
        toy_voc,
        'train_dataloader.dataset.indices':
        NUM_TRAIN,
        'train_dataloader.dataset.data_prefix.seg_map_path':
        str(relation_dir),
        'train_cfg.max_iters':
        iters,
        # no validation: test() below runs the same loop
        'train_cfg.val_begin':
        iters + 1,
        # a shorter walk (64 steps) keeps the test quick
        'model.test_cfg.exp_times':
        6,
        'param_scheduler.0.end':
        iters,
        'default_hooks.checkpoint.interval':
        iters,
        'default_hooks.logger.interval':
        1,
    })
    for key in ('val_dataloader', 'test_dataloader'):
        cfg.merge_from_dict({
            f'{key}.dataset.data_root': toy_voc,
            f'{key}.dataset.indices': NUM_TEST,
            f'{key}.dataset.pipeline.3.cam_dir': str(cam_dir),
        })
    cfg.test_evaluator = dict(
        type='IoUMetric', iou_metrics=['mIoU'], output_dir=str(out_dir))

    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(tmp_path / 'work' / f'iter_{iters}.pth')
    losses = runner.message_hub.log_scalars['train/boundary.loss_aff'].data[0]
    assert len(losses) == iters and np.isfinite(losses).all()
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100

    for name, classes in classes_of.items():
        pred = np.asarray(Image.open(out_dir / f'{name}.png'))
        assert pred.shape == _mask(toy_voc, name).shape
        assert set(np.unique(pred).tolist()) <= {0, *classes}


def test_irn_trains_under_dist_train_sh(toy_voc, tmp_path):
    relation_dir = tmp_path / 'relation'
    relation_dir.mkdir()
    _write_relation_labels(toy_voc, str(relation_dir))
    options = [
        f'train_dataloader.dataset.data_root={toy_voc}',
        f'train_dataloader.dataset.data_prefix.seg_map_path={relation_dir}',
        f'train_dataloader.dataset.indices={NUM_TRAIN}',
        'train_dataloader.batch_size=2', 'train_cfg.max_iters=2',
        'default_hooks.logger.interval=1', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None'
    ]
    run_logged(
        [
            'bash',
            osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), CONFIG, '2',
            '--work-dir',
            str(tmp_path / 'work'), '--cfg-options'
        ] + options,
        str(tmp_path / 'torchrun.log'),
        env=subprocess_env(PORT=str(free_port())))
    assert osp.isfile(tmp_path / 'work' / 'iter_2.pth')
    logs = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    assert len(logs) == 1  # rank 0 logs
    with open(logs[0]) as f:
        log = f.read()
    assert 'Distributed training: True' in log
    assert 'boundary.loss_aff' in log
