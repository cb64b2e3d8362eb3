# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The recipe is the global batch: every shipped training config states it,
and the helpers of mmseg_wsss/utils/scale_out.py keep it on any number of
processes."""
import ast
import glob
import os.path as osp
import re

import pytest
from log_capture import current_log_records
from mmengine.config import Config

from mmseg_wsss.utils.scale_out import (enable_auto_scale_lr,
                                        keep_global_batch, scale_out_plan)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
#: Every shipped config but the bases is a training config.
TRAINING_CONFIGS = sorted(
    osp.relpath(p, CONFIG_ROOT)
    for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p)


def stated_auto_scale_lr(path: str):
    """The ``auto_scale_lr = dict(...)`` that the file itself assigns."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == 'auto_scale_lr'
                for t in node.targets):
            call = node.value
            assert isinstance(call, ast.Call) and call.func.id == 'dict'
            return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    return None


@pytest.mark.parametrize('name', TRAINING_CONFIGS)
def test_every_training_config_states_its_global_batch(name):
    path = osp.join(CONFIG_ROOT, name)
    stated = stated_auto_scale_lr(path)
    if stated is None:
        # inherited from the config it extends (loaded only then: slow)
        stated = Config.fromfile(path).get('auto_scale_lr')
    assert stated is not None, (
        f'configs/{name} sets no auto_scale_lr = dict(enable=False, '
        'base_batch_size=<its global batch>)')
    assert stated['enable'] is False, name
    assert isinstance(stated['base_batch_size'], int), name
    # OpenMMLab names: {GPUs}xb{images per GPU}
    recipe = re.search(r'_(\d+)xb(\d+)-', osp.basename(name))
    if recipe is not None:
        gpus, per_gpu = map(int, recipe.groups())
        assert stated['base_batch_size'] == gpus * per_gpu, name


def schedule_cfg(batch_size=4, base=16):
    """A small iteration-based training config."""
    return Config(
        dict(
            train_dataloader=dict(batch_size=batch_size),
            train_cfg=dict(
                type='IterBasedTrainLoop', max_iters=100, val_interval=10),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            param_scheduler=[
                dict(type='LinearLR', begin=0, end=5, by_epoch=False),
                dict(type='PolyLR', begin=5, end=100, by_epoch=False)
            ],
            default_hooks=dict(checkpoint=dict(by_epoch=False, interval=50)),
            auto_scale_lr=dict(enable=False, base_batch_size=base)))


def test_keep_global_batch_by_accumulation_counts_micro_batches():
    cfg = schedule_cfg()
    kept = keep_global_batch(cfg, world_size=1, mode='accumulate')
    assert kept.train_dataloader.batch_size == 4
    assert kept.optim_wrapper.accumulative_counts == 4
    # mmengine counts micro-batches: the same 100 optimizer steps
    assert (kept.train_cfg.max_iters, kept.train_cfg.val_interval) == (400, 40)
    assert [(s.begin, s.end) for s in kept.param_scheduler] == [(0, 20),
                                                                (20, 400)]
    assert kept.default_hooks.checkpoint.interval == 200
    assert cfg.train_cfg.max_iters == 100  # the input is left as it was
    # 2 processes x 4 images x 2 micro-batches
    assert keep_global_batch(
        cfg, world_size=2).optim_wrapper.accumulative_counts == 2
    # already at the global batch: unchanged
    assert keep_global_batch(cfg, world_size=4).to_dict() == cfg.to_dict()


def test_accumulation_scales_the_warm_up_and_warns_for_the_method():
    cfg = schedule_cfg()
    cfg.model = dict(
        rcm_head=dict(type='RCMHead'), train_cfg=dict(self_sup_start_iter=30))
    with current_log_records() as records:
        kept = keep_global_batch(cfg, world_size=1, mode='accumulate')
    # the warm-up before RCM and MAM: 30 optimizer steps = 120 micro-batches
    assert kept.model.train_cfg.self_sup_start_iter == 120
    assert any('RCM builds its prototypes' in r.getMessage() for r in records)
    # epoch-based loops count val_interval in epochs: left as it is
    by_epoch = schedule_cfg()
    by_epoch.train_cfg = dict(max_epochs=5, val_interval=1)
    kept = keep_global_batch(by_epoch, world_size=1, mode='accumulate')
    assert kept.train_cfg == dict(max_epochs=5, val_interval=1)


def test_keep_global_batch_on_the_device_or_refuses():
    kept = keep_global_batch(schedule_cfg(), world_size=2, mode='device')
    assert kept.train_dataloader.batch_size == 8
    assert 'accumulative_counts' not in kept.optim_wrapper
    assert kept.train_cfg.max_iters == 100
    with pytest.raises(ValueError, match='no multiple of 1 processes x 3'):
        keep_global_batch(schedule_cfg(batch_size=3))
    with pytest.raises(KeyError, match='auto_scale_lr.base_batch_size'):
        keep_global_batch(Config(dict(train_dataloader=dict(batch_size=2))))


def test_auto_scale_lr_counts_accumulation_as_batch():
    """mmengine's ratio is world_size x batch_size / base_batch_size."""
    cfg = schedule_cfg()
    cfg.optim_wrapper.accumulative_counts = 2
    base = enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr.enable is True
    # 1 process x 4 images x 2 micro-batches = half the recipe's 16
    assert 1 * 4 / base == pytest.approx(0.5)


def distributed_guide_rows():
    """Config path -> the cells of its row in the distributed guide."""
    with open(osp.join(REPO_ROOT, 'docs', 'user_guides',
                       '8_distributed.md')) as f:
        guide = f.read()
    rows = re.findall(r'^\| \[(configs/[^\]]+)\]\([^)]+\) \| (.+) \|$', guide,
                      re.M)
    return {path: cells.split(' | ') for path, cells in rows}


def test_distributed_guide_table_is_the_configs_recipe():
    rows = distributed_guide_rows()
    shipped = {
        'configs/' + name
        for name in TRAINING_CONFIGS
        if not name.startswith('toy/') and not re.search(r'_toy\w*-', name)
    }
    assert set(rows) == shipped, 'a shipped config without its row, or a ' \
        'row without its config, in docs/user_guides/8_distributed.md'
    for path, cells in rows.items():
        cfg = Config.fromfile(osp.join(REPO_ROOT, path))
        plans = [scale_out_plan(cfg, gpus) for gpus in (1, 2, 4, 8)]
        per_gpu = ' / '.join(
            '-' if p['batch_size'] is None else str(p['batch_size'])
            for p in plans)
        assert cells == [
            str(cfg.train_dataloader.batch_size),
            str(plans[0]['global_batch']), per_gpu,
            str(plans[0]['iters']),
            str(plans[0]['lr'])
        ], path
