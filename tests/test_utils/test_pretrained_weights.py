# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""ImageNet weights as in mmseg (``open-mmlab://NAME``), offline overrides
and the missing-file error; nothing is downloaded."""
import json
import os
import os.path as osp
import re

import mmengine
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import get_external_models
from mmseg.registry import MODELS

from mmseg_wsss.apis import check_pretrained_files, cli
from mmseg_wsss.apis.pretrained import pretrained_checkpoints
from mmseg_wsss.utils import UnsafeCheckpointError

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAM_R50 = osp.join(REPO_ROOT, 'configs', 'wsss', 'cam_r50_voc.py')
DEEPLAB = ('deeplabv3plus/'
           'deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-512x512.py')
# The VOC configs and the open-mmlab:// name of their ImageNet weights.
VOC_CONFIGS = {
    'wsss/cam_r50_voc.py': 'resnet50_v1c',
    'wsss/rcm_mam_r50_voc.py': 'resnet50_v1c',
    'irn/irn_r50_voc.py': 'resnet50_v1c',
    DEEPLAB: 'resnet101_v1c',
}
KEY = 'model.backbone.init_cfg.checkpoint'
# The first convolution of mmseg's ResNetV1c stem (3 -> 32 channels).
STEM = 'stem.0.weight'


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch hub cache (``TORCH_HOME``) and mmengine home, and a
    proxy on a closed port: any download attempt fails at once."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    for name in ('no_proxy', 'NO_PROXY'):
        monkeypatch.delenv(name, raising=False)
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        monkeypatch.setenv(name, 'http://127.0.0.1:9')
    return tmp_path


def _hub_cache_file(name):
    """Where mmengine caches the weights of ``open-mmlab://name``."""
    url = get_external_models()[name]
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(url))


def _save_stem(path, value):
    """A tiny checkpoint holding only the ResNetV1c stem's first conv."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict={STEM: torch.full((32, 3, 3, 3), value)}), path)


def _initialised_backbone(cfg):
    init_default_scope('mmseg')
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    return backbone


def test_installed_mmengine_maps_the_configs_names_to_urls():
    json_path = osp.join(mmengine.__path__[0], 'hub', 'openmmlab.json')
    with open(json_path) as f:
        urls = json.load(f)
    for name in ('resnet50_v1c', 'resnet101_v1c'):
        assert re.fullmatch(rf'https://\S+/{name}-[0-9a-f]+\.pth', urls[name])
    for path, name in VOC_CONFIGS.items():
        cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', path))
        assert list(pretrained_checkpoints(cfg.model)) == [
            (KEY, f'open-mmlab://{name}')
        ], path


def test_local_file_override_loads(offline, load_tool):
    weights = str(offline / 'weights' / 'resnet50_v1c.pth')
    _save_stem(weights, 0.25)
    # what `tools/train.py CONFIG --cfg-options KEY=PATH` builds
    args = load_tool('train').parse_args(
        [CAM_R50, '--cfg-options', f'{KEY}={weights}'])
    cfg = cli.load_config(args)
    check_pretrained_files(cfg)
    backbone = _initialised_backbone(cfg)
    assert torch.equal(backbone.state_dict()[STEM],
                       torch.full((32, 3, 3, 3), 0.25))


def test_hub_cache_file_loads_without_network(offline):
    _save_stem(_hub_cache_file('resnet50_v1c'), 0.5)
    cfg = Config.fromfile(CAM_R50)
    check_pretrained_files(cfg)
    backbone = _initialised_backbone(cfg)
    assert torch.equal(backbone.state_dict()[STEM],
                       torch.full((32, 3, 3, 3), 0.5))


def test_offline_without_cache_file_says_where_to_put_it(offline):
    cached = _hub_cache_file('resnet101_v1c')
    with pytest.raises(OSError, match='Could not download') as info:
        load_checkpoint(
            torch.nn.Linear(1, 1),
            'open-mmlab://resnet101_v1c',
            map_location='cpu')
    assert cached in str(info.value)
    assert 'docs/get_started.md' in str(info.value)
    assert not osp.exists(cached)


class _RunsCode:
    """Unpickles as ``os.system(command)``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def test_openmmlab_names_load_weights_only(offline, monkeypatch):
    # torch honours this when a caller leaves weights_only unset, as
    # mmengine's loader of local open-mmlab names does
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = offline / 'code_ran'
    payload = dict(
        state_dict={STEM: torch.zeros(1)}, meta=_RunsCode(f'touch {marker}'))
    cached = _hub_cache_file('resnet50_v1c')
    os.makedirs(osp.dirname(cached))
    torch.save(payload, cached)
    # a user's <mmengine home>/open_mmlab.json may map a name to a file
    home = offline / 'mmengine_home'
    home.mkdir(exist_ok=True)
    (home / 'open_mmlab.json').write_text(
        json.dumps(dict(my_weights='weights/mine.pth')))
    mine = str(home / 'weights' / 'mine.pth')
    _save_stem(mine, 1.0)

    model = torch.nn.Module()
    model.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, bias=False))
    load_checkpoint(model, 'open-mmlab://my_weights', map_location='cpu')
    assert torch.equal(model.stem[0].weight.detach(), torch.ones(32, 3, 3, 3))
    torch.save(payload, mine)
    for name in ('resnet50_v1c', 'my_weights'):
        with pytest.raises(UnsafeCheckpointError, match='may be malicious'):
            load_checkpoint(model, f'open-mmlab://{name}', map_location='cpu')
    assert not marker.exists()


def test_unknown_openmmlab_name_is_named(offline):
    with pytest.raises(ValueError, match="'resnet50_v1x' is not a name"):
        load_checkpoint(
            torch.nn.Linear(1, 1),
            'open-mmlab://resnet50_v1x',
            map_location='cpu')


@pytest.mark.parametrize('config', sorted(VOC_CONFIGS))
def test_missing_local_file_names_key_file_and_fixes(offline, load_tool,
                                                     config):
    missing = str(offline / 'data' / 'pretrained' /
                  f'{VOC_CONFIGS[config]}.pth')
    with pytest.raises(FileNotFoundError) as info:
        # stops before the Runner (the VOC data are not there either)
        load_tool('train').main([
            osp.join(REPO_ROOT, 'configs', config), '--cfg-options',
            f'{KEY}={missing}'
        ])
    message = str(info.value)
    assert f'{KEY}={missing} names no file' in message
    # fix 1: mmengine's name, and where its download is cached
    assert f'{KEY}=open-mmlab://{VOC_CONFIGS[config]} ' in message
    assert _hub_cache_file(VOC_CONFIGS[config]) in message
    # fix 2: the file at that path, or another local copy
    assert f'put the weights at {missing}' in message
    assert f'--cfg-options {KEY}=PATH' in message


def test_pretrained_checkpoints_finds_every_form():
    model = dict(
        pretrained='r50.pth',
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='a.pth')),
        heads=[
            dict(init_cfg=[
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Pretrained', checkpoint='open-mmlab://x')
            ])
        ])
    assert sorted(pretrained_checkpoints(model)) == [
        ('model.backbone.init_cfg.checkpoint', 'a.pth'),
        ('model.heads.0.init_cfg.1.checkpoint', 'open-mmlab://x'),
        ('model.pretrained', 'r50.pth'),
    ]
    with pytest.raises(FileNotFoundError, match=r'model\.pretrained=r50'):
        check_pretrained_files(Config(dict(model=model)))
