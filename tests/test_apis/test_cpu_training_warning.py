# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The warning when a VOC-sized config starts training on the CPU."""
import os.path as osp

import pytest
from log_capture import current_log_records
from mmengine.config import Config

from mmseg_wsss.apis import cli

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs')


def _warnings(cfg, device):
    with current_log_records() as records:
        warned = cli.warn_cpu_training(cfg, device)
    return warned, [
        r.getMessage() for r in records if r.levelname == 'WARNING'
    ]


@pytest.mark.parametrize('config, crop', [
    ('wsss/cam_r50_voc.py', (384, 384)),
    ('toy/cam_r18-tiny_1xb8-300it_toyvoc-96x96.py', (96, 96)),
    ('irn/irn_r18-tiny_1xb8-300it_toyvoc-192x192.py', (192, 192)),
])
def test_training_crop_and_warning(config, crop):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    assert cli.training_crop(cfg) == crop
    voc_sized = crop[0] >= cli.LARGE_CROP
    warned, messages = _warnings(cfg, 'cpu')
    assert warned is voc_sized
    assert len(messages) == int(voc_sized)
    if voc_sized:
        assert f'{crop[0]}x{crop[1]} crops' in messages[0]
        assert cfg.filename in messages[0]
        assert 'docs/get_started.md#gpu' in messages[0]
    assert _warnings(cfg, 'cuda') == (False, [])


def test_crop_from_the_pipeline_without_preprocessor_size():
    cfg = Config(
        dict(
            model=dict(data_preprocessor=dict(type='SegDataPreProcessor')),
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    dataset=dict(
                        data_root='x',
                        pipeline=[
                            dict(type='LoadImageFromFile'),
                            dict(
                                type='RandomApply',
                                transforms=[
                                    dict(type='RandomCrop', crop_size=300)
                                ]),
                            dict(type='RandomCrop', crop_size=(128, 160)),
                        ])))))
    assert cli.training_crop(cfg) == (300, 300)
    assert cli.training_crop(Config(dict(model=dict()))) is None
    assert _warnings(Config(dict(model=dict())), 'cpu') == (False, [])
