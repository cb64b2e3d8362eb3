# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""SelfSupDiagnosticsHook in a real Runner on the toy set."""
import pytest
from mmengine.runner import Runner
from test_training import BASELINE, METHOD, toy_cfg

from mmseg_wsss.engine.hooks import SelfSupDiagnosticsHook

PERCENTAGES = ('cam_fg_recall', 'cam_fg_precision', 'mask_fg_correct',
               'mask_fg_as_bg', 'mask_fg_wrong_class', 'mask_fg_ignored',
               'mask_bg_correct', 'mask_bg_as_fg', 'mask_bg_ignored',
               'proto_zero', 'proto_batch', 'own_proto_wins',
               'cam_fg_wrong_class', 'mam_target_cam_fg_recall')


def _run(config, toy_voc, tmp_path):
    cfg = toy_cfg(config, toy_voc, tmp_path, iters=2)
    cfg.default_hooks.checkpoint = None
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='SelfSupDiagnosticsHook', interval=1, num_batches=1)
    ]
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(
        h for h in runner.hooks if isinstance(h, SelfSupDiagnosticsHook))
    return runner, hook.last


def test_method_logs_every_module_diagnostic(toy_voc, tmp_path):
    runner, diag = _run(METHOD, toy_voc, tmp_path)
    for key in PERCENTAGES:
        assert 0 <= diag[key] <= 100, key
    # the shares of each ground-truth group add up to 100 %
    fg = sum(diag[f'mask_fg_{k}']
             for k in ('correct', 'as_bg', 'wrong_class', 'ignored'))
    bg = sum(diag[f'mask_bg_{k}'] for k in ('correct', 'as_fg', 'ignored'))
    assert fg == pytest.approx(100) and bg == pytest.approx(100)
    sources = diag['proto_zero'] + diag['proto_batch'] + diag.get(
        'proto_memory_only', 0)
    assert sources == pytest.approx(100)
    assert -100 <= diag['cos_other'] <= 100
    scalars = runner.message_hub.log_scalars
    assert scalars['train/diag/mask_fg_correct'].current() == pytest.approx(
        diag['mask_fg_correct'])


def test_baseline_logs_cam_diagnostics_only(toy_voc, tmp_path):
    _, diag = _run(BASELINE, toy_voc, tmp_path)
    assert set(diag) == {
        'cam_fg_recall', 'cam_fg_precision', 'cam_fg_wrong_class', 'cam_bg_thr'
    }


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match='interval >= 1'):
        SelfSupDiagnosticsHook(interval=0)
