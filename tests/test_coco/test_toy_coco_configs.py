# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The toy COCO configs through the real tools on a converted toy
COCO 2014: tools/train.py and tools/test.py with --data-root."""
import os.path as osp

import pytest
import torch

from mmseg_wsss.utils import load_checkpoint_safely

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs')
TOY_CAM = osp.join(CONFIGS, 'toy', 'cam_r18-tiny_1xb8-300it_toycoco-96x96.py')
ITERS = 2


def quick(iters=ITERS):
    """--cfg-options of a few-iteration run with small batches."""
    return [
        '--cfg-options', f'train_cfg.max_iters={iters}',
        f'param_scheduler.0.end={iters}', 'train_dataloader.batch_size=4',
        f'default_hooks.checkpoint.interval={iters}',
        'model.test_cfg.scales=[1.0]', 'model.test_cfg.flip=False'
    ]


@pytest.fixture(scope='module')
def toy_coco_cam(toy_coco, tmp_path_factory, load_tool):
    """The toy COCO CAM network trained by tools/train.py (validation on
    the train split at the end included); ``(work_dir, checkpoint)``."""
    root, _ = toy_coco
    work_dir = str(tmp_path_factory.mktemp('toy_coco_cam'))
    load_tool('train').main(
        [TOY_CAM, '--data-root', root, '--work-dir', work_dir] + quick())
    return work_dir, osp.join(work_dir, f'iter_{ITERS}.pth')


def test_cam_config_trains_and_tests(toy_coco, toy_coco_cam, load_tool,
                                     tmp_path):
    root, truth = toy_coco
    _, checkpoint = toy_coco_cam
    assert osp.isfile(checkpoint)
    metrics = load_tool('test').main([
        TOY_CAM, checkpoint, '--data-root', root, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.test_cfg.scales=[1.0]',
        'model.test_cfg.flip=False'
    ])
    # CAMIoUMetric over the 81 classes, on every train image
    assert 0 <= metrics['mIoU'] <= 100 and 'best_bg_thr' in metrics
    ious = {k[len('IoU.'):] for k in metrics if k.startswith('IoU.')}
    assert len(ious) == 81 and {'background', 'toothbrush'} <= ious


@pytest.mark.parametrize(
    'config,extra', [
        ('recam_r18-tiny_1xb8-300it_toycoco-96x96.py', []),
        ('irn_r18-tiny_1xb8-300it_toycoco-192x192.py', ['--relation-dir']),
    ],
    ids=['recam', 'irn'])
def test_method_configs_train(toy_coco, config, extra, load_tool, tmp_path):
    """One iteration over every train image (the one without objects
    included) by tools/train.py with the real runner."""
    root, _ = toy_coco
    if extra:
        # IRN's relation labels: the converted masks stand in for them
        extra = extra + [osp.join(root, 'SegmentationClass')]
    load_tool('train').main([
        osp.join(CONFIGS, 'toy', config), '--data-root', root, '--work-dir',
        str(tmp_path), *extra, '--cfg-options', 'train_cfg.max_iters=1',
        'train_dataloader.batch_size=14',
        'default_hooks.checkpoint.interval=1', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None'
    ])
    assert osp.isfile(osp.join(str(tmp_path), 'iter_1.pth'))
    # a NaN loss would have made the stepped weights NaN
    state = load_checkpoint_safely(osp.join(str(tmp_path),
                                            'iter_1.pth'))['state_dict']
    assert all(
        torch.isfinite(v).all() for v in state.values()
        if v.is_floating_point())
