# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A stage started from a checkpoint reads no ImageNet weights (R50: no
download; R38: no file)."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_wsss.apis import (check_pretrained_files,
                             skip_pretrained_under_checkpoint)
from mmseg_wsss.apis.pretrained import pretrained_checkpoints

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('name',
                         ['rcm_mam_r50_voc', 'rcm_mam_r38_voc_labcode'])
def test_load_from_drops_the_imagenet_initialisation(name, tmp_path):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'wsss', f'{name}.py'))
    assert list(pretrained_checkpoints(cfg.model))
    cfg.work_dir = str(tmp_path)
    # nothing to start from: the ImageNet weights stay
    assert skip_pretrained_under_checkpoint(cfg) == []
    assert list(pretrained_checkpoints(cfg.model))
    cfg.load_from = str(tmp_path / 'iter_8.pth')
    assert skip_pretrained_under_checkpoint(cfg) == ['model.backbone.init_cfg']
    assert cfg.model.backbone.init_cfg is None
    assert not list(pretrained_checkpoints(cfg.model))
    check_pretrained_files(cfg)  # the R38 file is not demanded


def test_resume_drops_it_only_with_a_checkpoint_to_resume(tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'wsss', 'cam_r50_voc.py'))
    cfg.work_dir, cfg.resume = str(tmp_path), True
    assert skip_pretrained_under_checkpoint(cfg) == []
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert skip_pretrained_under_checkpoint(cfg) == ['model.backbone.init_cfg']
