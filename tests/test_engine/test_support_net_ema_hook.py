# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""SupportNetEMAHook in real toy runs: the first copy, one EMA step per
optimizer step, the checks before training."""
import pytest
import torch
from mmengine.runner import Runner
from test_training import BASELINE, METHOD, toy_cfg


def test_one_ema_step_per_optimizer_step(toy_voc, toy_cam_checkpoint,
                                         tmp_path):
    # MainNet starts from a baseline checkpoint; gradients of 2 iterations
    # accumulate, so the optimizer steps once
    cfg = toy_cfg(
        METHOD,
        toy_voc,
        tmp_path,
        iters=2,
        batch_size=2,
        load_from=toy_cam_checkpoint[1],
        optim_wrapper=dict(accumulative_counts=2),
        val_cfg=None,
        val_dataloader=None,
        val_evaluator=None)
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    # before_train copied MainNet (step 1); the optimizer step added one
    assert int(model.support.steps) == 2
    start = torch.load(toy_cam_checkpoint[1], map_location='cpu')['state_dict']
    main = model._main_modules().state_dict()
    support = model.support.module.state_dict()
    weights = [k for k in start if k.endswith('weight')]
    assert weights and all(k in support for k in weights)
    for key in weights:
        # 0.004 of the way from the copy to the stepped MainNet
        expected = torch.lerp(start[key], main[key], 0.004)
        torch.testing.assert_close(
            support[key], expected, rtol=0, atol=1e-6, msg=key)


def test_refuses_a_batch_of_one(toy_voc, tmp_path):
    cfg = toy_cfg(METHOD, toy_voc, tmp_path, batch_size=1)
    with pytest.raises(ValueError, match='batch_size >= 2'):
        Runner.from_cfg(cfg).train()


def test_needs_a_support_net(toy_voc, tmp_path):
    cfg = toy_cfg(
        BASELINE,
        toy_voc,
        tmp_path,
        custom_hooks=[dict(type='SupportNetEMAHook')])
    with pytest.raises(TypeError, match='got CAMSegmentor'):
        Runner.from_cfg(cfg).train()
