# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""``--amp``: every toy training config trains with bf16 autocast on the CPU
through a real Runner; losses finite, SupportNet and the prototype memory
float32."""
import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from mmseg_wsss.apis import cli
from mmseg_wsss.engine import BF16AmpOptimWrapper
from mmseg_wsss.utils import load_checkpoint_safely

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Every toy training config, wherever it lives: new ones join by their name.
TOY_CONFIGS = sorted(
    glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*toyvoc*.py'), recursive=True))
ITERS = 2


def _amp_toy_cfg(path, data_root, work_dir):
    """``path`` on ``data_root`` for ``ITERS`` iterations of batch 2, no
    validation or checkpoints, with ``--amp``'s optimizer wrapper."""
    cfg = Config.fromfile(path)
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is not None:
            loader.dataset.data_root = data_root
    train_loader = cfg.train_dataloader
    # Pseudo masks (DeepLab) and relation labels (IRN) come from earlier
    # stages; the toy's masks stand in for them.
    prefix = train_loader.dataset.get('data_prefix', {})
    if prefix.get('seg_map_path') and not osp.isdir(
            osp.join(data_root, prefix.seg_map_path)):
        prefix.seg_map_path = 'SegmentationClassAug'
    train_loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg.update(max_iters=ITERS, val_interval=ITERS + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    assert cli.enable_amp(cfg) == 'BF16AmpOptimWrapper'
    return cfg


def _float_dtypes(module):
    """The dtypes of the floating-point parameters and buffers."""
    tensors = list(module.parameters()) + list(module.buffers())
    return {t.dtype for t in tensors if t.is_floating_point()}


def test_toy_configs_found():
    names = {osp.basename(path) for path in TOY_CONFIGS}
    assert {
        'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
        'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
        'deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py',
        'irn_r18-tiny_1xb8-300it_toyvoc-192x192.py'
    } <= names


@pytest.mark.parametrize(
    'config', TOY_CONFIGS, ids=[osp.basename(p)[:-3] for p in TOY_CONFIGS])
def test_toy_config_trains_with_bf16_autocast(config, toy_voc, tmp_path):
    runner = Runner.from_cfg(_amp_toy_cfg(config, toy_voc, tmp_path))
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    conv = next(m for m in model.backbone.modules()
                if isinstance(m, nn.Conv2d))
    conv_dtypes = set()
    conv.register_forward_hook(
        lambda module, args, out: conv_dtypes.add(out.dtype))
    runner.train()

    assert isinstance(runner.optim_wrapper, BF16AmpOptimWrapper)
    # autocast was on: the backbone's convolutions ran in bfloat16
    assert conv_dtypes == {torch.bfloat16}
    losses = {
        key: buffer.data[0]
        for key, buffer in runner.message_hub.log_scalars.items()
        if 'loss' in key
    }
    assert 'train/loss' in losses
    for key, values in losses.items():
        assert len(values) == ITERS and all(map(math.isfinite, values)), key
    # autocast computes in bfloat16 but stores nothing in it
    assert _float_dtypes(model) == {torch.float32}
    support = getattr(model, 'support', None)
    if support is not None:
        # SupportNet: mmengine's EMA, one copy + one step per iteration
        assert int(support.steps) == ITERS + 1
        assert _float_dtypes(support.module) == {torch.float32}
    memory = getattr(getattr(model, 'rcm_head', None), 'memory', None)
    if memory is not None:
        assert memory.bank.dtype == torch.float32
        if any(losses.get('train/cam.loss_rcm', [0])):
            assert memory.filled.any()


def test_train_tool_amp_saves_and_resumes(toy_voc, tmp_path, load_tool):
    config = osp.join(REPO_ROOT, 'configs', 'toy',
                      'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
    train = load_tool('train')

    def run(iters, *extra):
        train.main([
            config, '--amp', '--work-dir',
            str(tmp_path), *extra, '--cfg-options',
            f'train_dataloader.dataset.data_root={toy_voc}',
            'train_dataloader.batch_size=2', f'train_cfg.max_iters={iters}',
            'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=3'
        ])

    run(1)
    first = load_checkpoint_safely(str(tmp_path / 'iter_1.pth'))
    # an AMP wrapper's state (a plain OptimWrapper's has no loss scaler);
    # the disabled bf16 scaler has an empty one
    assert first['optimizer']['loss_scaler'] == {}
    run(2, '--resume')
    resumed = load_checkpoint_safely(str(tmp_path / 'iter_2.pth'))
    assert resumed['meta']['iter'] == 2
    assert resumed['optimizer']['loss_scaler'] == {}


def test_enable_amp_keeps_an_amp_config():
    cfg = Config(
        dict(optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16')))
    assert cli.enable_amp(cfg) is None
    assert cfg.optim_wrapper.to_dict() == dict(
        type='AmpOptimWrapper', dtype='bfloat16')
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=1))))
    assert cli.enable_amp(cfg) == 'BF16AmpOptimWrapper'


def test_bf16_wrapper_arguments_and_fp16_checkpoints():
    param = nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match='bfloat16 only.*float16'):
        BF16AmpOptimWrapper(
            optimizer=torch.optim.SGD([param], lr=1), dtype='float16')
    with pytest.raises(ValueError, match="loss_scale must be 'dynamic'"):
        BF16AmpOptimWrapper(
            optimizer=torch.optim.SGD([param], lr=1), loss_scale=512.)
    wrapper = BF16AmpOptimWrapper(optimizer=torch.optim.SGD([param], lr=1))
    with wrapper.optim_context(nn.Linear(2, 2)):
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        assert torch.is_autocast_enabled('cpu')
    # unscaled: one step of lr 1 on the gradient of sum(param) = 1
    wrapper.update_params(param.sum())
    assert torch.equal(param.detach(), torch.zeros(2))
    # an fp16 run's scaler state (e.g. from a GPU) is ignored, not an error
    state = OptimWrapper(torch.optim.SGD([param], lr=1)).state_dict()
    wrapper.load_state_dict(dict(state, loss_scaler=dict(scale=1024.)))
