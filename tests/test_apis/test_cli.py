# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The argument helper the tools share."""
import argparse
import os
import os.path as osp

from mmengine.config import Config

from mmseg_wsss.apis import cli


def _parser(**kwargs):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    return cli.add_config_args(parser, **kwargs)


def test_overrides_launcher_and_local_rank(tmp_path, monkeypatch):
    path = tmp_path / 'a.py'
    path.write_text('model = dict(test_cfg=dict(bg_thr=0.3), depth=18)\n')
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = cli.parse_args(_parser(), [
        str(path), '--cfg-options', 'model.test_cfg.bg_thr=0.2', '--launcher',
        'pytorch', '--local-rank', '1'
    ])
    assert os.environ['LOCAL_RANK'] == '1'
    cfg = cli.load_config(args)
    assert cfg.model == dict(test_cfg=dict(bg_thr=0.2), depth=18)
    assert cfg.launcher == 'pytorch'
    # a launcher's LOCAL_RANK wins
    monkeypatch.setenv('LOCAL_RANK', '3')
    cli.parse_args(_parser(), [str(path), '--local_rank', '0'])
    assert os.environ['LOCAL_RANK'] == '3'
    plain = cli.parse_args(_parser(launcher=False), [str(path)])
    assert 'launcher' not in plain
    assert 'launcher' not in cli.load_config(plain)


def test_work_dir_cli_then_config_then_config_name(tmp_path):
    path = tmp_path / 'my_config.py'
    path.write_text('a = 1\n')
    cfg = Config.fromfile(str(path))
    cli.resolve_work_dir(cfg)
    assert cfg.work_dir == osp.join('./work_dirs', 'my_config')
    cfg.work_dir = 'from_config'
    cli.resolve_work_dir(cfg)
    assert cfg.work_dir == 'from_config'
    cli.resolve_work_dir(cfg, 'from_cli')
    assert cfg.work_dir == 'from_cli'
