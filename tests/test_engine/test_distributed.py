# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Two CPU processes (gloo) train the toy DualCAMSegmentor with DDP."""
import glob
import json
import os.path as osp

import pytest
from subprocess_utils import (REPO_ROOT, free_port, run_logged, subprocess_env,
                              torchrun)


def test_two_process_ddp_keeps_support_net_identical(toy_voc, tmp_path):
    worker = osp.join(
        osp.dirname(osp.abspath(__file__)), 'ddp_train_worker.py')
    run_logged(
        torchrun(2) + [worker, toy_voc, str(tmp_path)],
        str(tmp_path / 'torchrun.log'))
    result = json.loads((tmp_path / 'ddp_result.json').read_text())
    assert result['world_size'] == 2
    assert result['digests'][0] == result['digests'][1]
    assert result['steps'] == [5, 5]  # the copy + 4 EMA steps on each rank
    # only rank 0 writes checkpoints
    assert sorted(osp.basename(p)
                  for p in glob.glob(str(tmp_path / '*.pth'))) == [
                      'iter_2.pth', 'iter_4.pth'
                  ]


def test_dist_train_sh_trains_on_two_cpu_processes(toy_voc, tmp_path):
    script = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
    config = osp.join(REPO_ROOT, 'configs', 'toy',
                      'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
    options = [
        f'{key}.dataset.data_root={toy_voc}'
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + ['train_cfg.max_iters=2', 'train_dataloader.batch_size=2']
    run_logged(
        [
            'bash', script, config, '2', '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + options,
        str(tmp_path / 'torchrun.log'),
        env=subprocess_env(PORT=str(free_port())))
    assert [osp.basename(p)
            for p in glob.glob(str(tmp_path / '*.pth'))] == ['iter_2.pth']
    logs = glob.glob(str(tmp_path / '*' / '*.log'))
    assert len(logs) == 1  # rank 0 logs, rank 1 stays quiet
    with open(logs[0]) as f:
        log = f.read()
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log


def test_recam_loss_under_ddp_equals_one_process_on_the_global_batch(tmp_path):
    worker = osp.join(
        osp.dirname(osp.abspath(__file__)), 'ddp_recam_loss_worker.py')
    run_logged(
        torchrun(2) + [worker, str(tmp_path)], str(tmp_path / 'torchrun.log'))
    result = json.loads((tmp_path / 'recam_ddp.json').read_text())
    assert result['world_size'] == 2
    # DDP averages over ranks: the mean of the rank losses and the averaged
    # gradient are one process's on all five images (3 + 2, one unlabelled)
    mean = sum(result['rank_losses']) / 2
    assert mean == pytest.approx(result['single_loss'], rel=1e-6)
    assert result['rank_losses'][0] != pytest.approx(result['single_loss'])
    assert result['ddp_grad'] == pytest.approx(
        result['single_grad'], rel=1e-5, abs=1e-7)
