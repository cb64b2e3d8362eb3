# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Every config in configs/ builds: its model and its data pipelines; the
configs ship with the package."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

import mmseg_wsss

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(__file__)), 'configs')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_configs_are_found():
    names = {osp.relpath(p, CONFIG_ROOT) for p in CONFIGS}
    assert 'wsss/rcm_mam_r50_voc.py' in names
    assert 'wsss/cam_r50_voc.py' in names


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, CONFIG_ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.model.copy()
    # Building must not load (or download) the pretrained weights.
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    assert model is not None
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        Compose(cfg[key].dataset.pipeline)
    if 'infer_pipeline' in cfg:
        Compose(cfg.infer_pipeline)


def test_toy_pipeline_differs_from_voc_in_scale_only():
    toy = Config.fromfile(osp.join(CONFIG_ROOT, '_base_/datasets/toy_voc.py'))
    voc = Config.fromfile(
        osp.join(CONFIG_ROOT, '_base_/datasets/voc12_wsss.py'))
    changed = {
        (i, key)
        for i, (a,
                b) in enumerate(zip(toy.train_pipeline, voc.train_pipeline))
        for key in set(a) | set(b) if a.get(key) != b.get(key)
    }
    assert changed == {(1, 'scale'), (5, 'crop_size')}
    assert toy.train_pipeline[1].scale == (128, 128)
    assert toy.train_pipeline[5].crop_size == (96, 96)
    assert toy.train_dataloader.dataset.pipeline == toy.train_pipeline


def test_another_project_inherits_the_shipped_configs(tmp_path, toy_voc):
    """``_base_ = 'mmseg_wsss::...'`` from a folder outside the repository:
    the base comes from the package, its objects (scope ``mmseg_wsss``)
    build and train."""
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'my_cam.py').write_text(
        "_base_ = 'mmseg_wsss::toy/cam_r18-tiny_1xb8-300it_toyvoc-96x96.py'\n"
        f'data_root = {toy_voc!r}\n'
        'train_dataloader = dict(batch_size=2, '
        'dataset=dict(data_root=data_root))\n'
        'train_cfg = dict(max_iters=1)\n'
        'val_dataloader = val_cfg = val_evaluator = None\n'
        f'work_dir = {str(tmp_path / "work")!r}\n')
    cfg = Config.fromfile(str(project / 'my_cam.py'))
    package = osp.dirname(mmseg_wsss.__file__)
    assert osp.samefile(
        osp.join(package, '.mim', 'configs', 'toy'),
        osp.join(CONFIG_ROOT, 'toy'))
    assert cfg.model._scope_ == 'mmseg_wsss'
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    assert type(runner.model).__name__ == 'CAMSegmentor'
    assert osp.isfile(tmp_path / 'work' / 'iter_1.pth')
