# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The toy COCO configs through the real tools on a converted miniature
COCO 2014: tools/train.py and tools/test.py with --data-root."""
import os.path as osp

import pytest

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
    assert 0 <= metrics['mIoU'] <= 100
    assert 'best_bg_thr' in metrics
