# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Real mmengine Runners train, save, test and resume the toy configs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASELINE = osp.join(REPO_ROOT, 'configs', 'toy',
                    'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
METHOD = osp.join(REPO_ROOT, 'configs', 'toy',
                  'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
RECAM = osp.join(REPO_ROOT, 'configs', 'toy',
                 'recam_r18-tiny_1xb8-300it_toyvoc-96x96.py')


def toy_cfg(path, data_root, work_dir, iters=4, batch_size=4, **options):
    """A toy config shortened to ``iters`` iterations on ``data_root``."""
    cfg = Config.fromfile(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters // 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 3
    cfg.default_hooks.logger.interval = 1
    # a few images keep the evaluation quick
    cfg.val_dataloader.dataset.indices = 6
    cfg.test_dataloader.dataset.indices = 6
    cfg.model.test_cfg.scales = (1.0, 0.5)
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return cfg


def test_baseline_trains_tests_and_resumes(toy_voc, tmp_path):
    cfg = toy_cfg(BASELINE, toy_voc, tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(tmp_path / 'iter_4.pth')
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100
    assert 'best_bg_thr' in metrics

    resumed = Runner.from_cfg(
        toy_cfg(
            BASELINE,
            toy_voc,
            tmp_path,
            iters=6,
            load_from=str(tmp_path / 'iter_4.pth'),
            resume=True))
    resumed.train()
    assert resumed.iter == 6


def test_method_trains_logs_all_losses_and_resumes_support_net(
        toy_voc, tmp_path):
    cfg = toy_cfg(
        METHOD,
        toy_voc,
        tmp_path,
        model=dict(train_cfg=dict(self_sup_start_iter=0)))
    runner = Runner.from_cfg(cfg)
    runner.train()
    logged = runner.message_hub.log_scalars
    for key in ('cam.loss_cls', 'cam.loss_rcm', 'cam.loss_mam'):
        values = logged[f'train/{key}'].data[0]
        assert len(values) == 4 and all(
            map(torch.isfinite, torch.as_tensor(values))), key
    support = {
        k: v.clone()
        for k, v in runner.model.support.state_dict().items()
    }
    assert int(support['steps']) == 5  # the copy + one EMA step per iter
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100

    ckpt = torch.load(tmp_path / 'iter_4.pth', map_location='cpu')
    saved = {
        k[len('support.'):]: v
        for k, v in ckpt['state_dict'].items() if k.startswith('support.')
    }
    assert saved.keys() == support.keys()
    resumed = Runner.from_cfg(
        toy_cfg(
            METHOD,
            toy_voc,
            tmp_path / 'resumed',
            load_from=str(tmp_path / 'iter_4.pth'),
            resume=True,
            iters=4))
    resumed.load_or_resume()
    assert resumed.iter == 4
    for key, value in resumed.model.support.state_dict().items():
        assert torch.equal(value, support[key]), key
    # SupportNet restored from the checkpoint, not re-copied from MainNet
    main = dict(resumed.model._main_modules().state_dict())
    assert any(not torch.equal(v, main[k])
               for k, v in resumed.model.support.module.state_dict().items())


def test_method_loads_a_baseline_checkpoint_into_both_networks(
        toy_voc, tmp_path):
    Runner.from_cfg(toy_cfg(BASELINE, toy_voc, tmp_path / 'base')).train()
    base_ckpt = str(tmp_path / 'base' / 'iter_4.pth')
    cfg = toy_cfg(
        METHOD, toy_voc, tmp_path / 'method', iters=2, load_from=base_ckpt)
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    runner.call_hook('before_train')
    base = torch.load(base_ckpt, map_location='cpu')['state_dict']
    support = runner.model.support.module.state_dict()
    for key, value in base.items():
        assert torch.equal(runner.model.state_dict()[key], value), key
        assert torch.equal(support[key], value), key


def test_recam_fine_tunes_a_baseline_checkpoint_and_tests(
        toy_voc, toy_cam_checkpoint, tmp_path):
    _, base_ckpt = toy_cam_checkpoint
    runner = Runner.from_cfg(
        toy_cfg(RECAM, toy_voc, tmp_path, load_from=base_ckpt))
    runner.train()
    logged = runner.message_hub.log_scalars
    for key in ('cam.loss_cls', 'cam.loss_sce'):
        values = logged[f'train/{key}'].data[0]
        assert len(values) == 4 and all(
            map(torch.isfinite, torch.as_tensor(values))), key
    # param groups: the predictor at 10x, the CAM head at the backbone's lr
    lr = runner.cfg.optim_wrapper.optimizer.lr
    group_lr = {
        id(p): g['initial_lr']
        for g in runner.optim_wrapper.param_groups
        for p in g['params']
    }
    model = runner.model
    assert group_lr[id(model.recam_head.predictor.weight)] == \
        pytest.approx(10 * lr)
    for param in (model.cam_head.classifier.weight,
                  model.backbone.stem[0].weight):
        assert group_lr[id(param)] == pytest.approx(lr)
    base = torch.load(base_ckpt, map_location='cpu')['state_dict']
    tuned = torch.load(
        tmp_path / 'iter_4.pth', map_location='cpu')['state_dict']
    assert 'recam_head.predictor.weight' in tuned
    # started from stage 1 and fine-tuned the whole network
    assert not torch.equal(tuned['backbone.stem.0.weight'],
                           base['backbone.stem.0.weight'])
    assert torch.allclose(
        tuned['backbone.stem.0.weight'],
        base['backbone.stem.0.weight'],
        atol=1e-2)
    metrics = runner.test()
    assert 0 <= metrics['mIoU'] <= 100
