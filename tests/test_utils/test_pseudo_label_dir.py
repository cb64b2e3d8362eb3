# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""tools/train.py --pseudo-labels: the second stage's training masks."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_wsss.utils.config_paths import set_pseudo_label_dir

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG2 = 'configs/deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo' \
    '-512x512.py'


def test_sets_the_training_masks_of_a_stage_2_config(tmp_path):
    cfg = Config.fromfile(osp.join(REPO_ROOT, SEG2))
    val_prefix = dict(cfg.val_dataloader.dataset.data_prefix)
    set_pseudo_label_dir(cfg, str(tmp_path))
    assert cfg.train_dataloader.dataset.data_prefix == dict(
        img_path='JPEGImages', seg_map_path=str(tmp_path))
    # validation keeps its ground truth
    assert cfg.val_dataloader.dataset.data_prefix == val_prefix


def test_refuses_an_irn_config(tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/irn/irn_r18-tiny_1xb8-300it_toyvoc'
                 '-192x192.py'))
    with pytest.raises(KeyError, match='--relation-dir'):
        set_pseudo_label_dir(cfg, str(tmp_path))
