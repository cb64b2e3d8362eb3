# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The pipeline trains every stage at its recipe's global batch."""
import os.path as osp

from mmengine.config import Config

from mmseg_wsss.apis.pipeline import WSSSPipeline

CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def test_pipeline_trains_stage2_at_its_global_batch(tmp_path):
    stage1 = Config.fromfile(
        osp.join(CONFIG_ROOT, 'toy',
                 'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py'))
    stage2 = Config.fromfile(
        osp.join(CONFIG_ROOT, 'deeplabv3plus',
                 'deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-512x512.py'))
    pipeline = WSSSPipeline(stage1, stage2, str(tmp_path))
    cfg = pipeline.train_config(2)
    # mmseg's 4xb4 on one device: 4 images x 4 micro-batches, 40k steps
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.optim_wrapper.accumulative_counts == 4
    assert cfg.train_cfg.max_iters == 4 * 40000
    assert cfg.param_scheduler[0].end == 4 * 40000
    # stage 1 is at its global batch already
    assert 'accumulative_counts' not in pipeline.train_config(1).optim_wrapper
    pipeline.global_batch = 'device'
    assert pipeline.train_config(2).train_dataloader.batch_size == 16
    pipeline.global_batch = None
    assert pipeline.train_config(2).train_dataloader.batch_size == 4
