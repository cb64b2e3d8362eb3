# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""PrepareForInferenceHook folds the model that runner.test() loaded."""
from mmengine.config import Config
from mmengine.runner import Runner
from torch import nn


def test_the_hook_folds_the_loaded_model(toy_cam_checkpoint, tmp_path):
    cfg_path, ckpt = toy_cam_checkpoint
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(
        dict(
            load_from=ckpt,
            work_dir=str(tmp_path),
            custom_hooks=[dict(type='PrepareForInferenceHook')]))
    cfg.test_dataloader.dataset.indices = 4
    runner = Runner.from_cfg(cfg)
    assert any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in runner.model.modules())
    runner.test()
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in runner.model.modules())
