# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""RCM and MAM over the global batch: 2 DDP ranks x 2 images (gloo, CPU)
train as 1 process x 4 images on the same images."""
import os.path as osp
from itertools import islice

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import InfiniteSampler
from subprocess_utils import REPO_ROOT, run_logged, torchrun

from mmseg_wsss.utils.scale_out import scale_out_plan

WORKER = osp.join(
    osp.dirname(osp.abspath(__file__)), 'ddp_global_batch_worker.py')
TOY_METHOD = osp.join(REPO_ROOT, 'configs', 'toy',
                      'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    """What each of the 2 ranks saved (ddp_global_batch_worker.py)."""
    out = tmp_path_factory.mktemp('ddp_global_batch')
    run_logged(torchrun(2) + [WORKER, str(out)], str(out / 'torchrun.log'))
    return [torch.load(out / f'rank{r}.pt') for r in range(2)]


@pytest.fixture(scope='module')
def single():
    """One process (no DDP) on the 4 images of each global batch."""
    from ddp_global_batch_worker import build_model, global_batch, train
    model = build_model('global')
    record = train(model, [global_batch(step) for step in range(2)])
    return model, record


def test_losses_and_gradients_are_one_process_on_the_global_batch(
        ranks, single):
    _, record = single
    for step in range(2):
        expected = record[step]
        losses = [r['record'][step]['losses'] for r in ranks]
        assert set(
            losses[0]) == {'cam.loss_cls', 'cam.loss_rcm', 'cam.loss_mam'}
        for key, value in expected['losses'].items():
            # DDP averages the ranks' gradients, so the loss it trains is
            # the mean of the ranks' losses
            mean = (losses[0][key] + losses[1][key]) / 2
            assert mean == pytest.approx(value, rel=1e-5), (step, key)
            # not by symmetry: each rank's own number differs
            assert losses[0][key] != pytest.approx(value, rel=1e-3)
        for rank in ranks:
            grads = rank['record'][step]['grads']
            assert grads.keys() == expected['grads'].keys()
            for name, grad in expected['grads'].items():
                torch.testing.assert_close(
                    grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_one_image_per_rank_with_mam_on_one_rank(ranks):
    """The 8 GPUs x 1 image case at 2 ranks: MAM's half of the global batch
    is rank 0's image; rank 1 contributes 0 and still syncs gradients."""
    from ddp_global_batch_worker import build_model, global_batch, train
    inputs, samples = global_batch(0)
    expected = train(build_model('global'), [(inputs[:2], samples[:2])])[0]
    steps = [rank['uneven'][0] for rank in ranks]
    assert steps[1]['losses']['cam.loss_mam'] == 0
    for key, value in expected['losses'].items():
        mean = (steps[0]['losses'][key] + steps[1]['losses'][key]) / 2
        assert mean == pytest.approx(value, rel=1e-5), key
    for step in steps:
        for name, grad in expected['grads'].items():
            torch.testing.assert_close(
                step['grads'][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_memory_and_support_net_are_the_same_on_every_rank(ranks, single):
    model, _ = single
    memory = model.rcm_head.memory.state_dict()
    assert memory['filled'].any()
    support = model.support.state_dict()
    for rank in ranks:
        assert torch.equal(rank['memory']['filled'], memory['filled'])
        assert torch.equal(rank['memory']['ptr'], memory['ptr'])
        torch.testing.assert_close(rank['memory']['bank'], memory['bank'])
        assert rank['support'].keys() == support.keys()
        for key, value in support.items():
            torch.testing.assert_close(
                rank['support'][key], value, rtol=1e-5, atol=1e-7, msg=key)
    # bit for bit on both ranks: one EMA update of the same gradients
    for key, value in ranks[0]['support'].items():
        assert torch.equal(ranks[1]['support'][key], value), key


def test_frozen_batchnorm_stays_frozen_under_ddp(ranks):
    from ddp_global_batch_worker import build_model
    initial = build_model('global').state_dict()
    for rank in ranks:
        assert rank['main_bn']
        for key, value in rank['main_bn'].items():
            assert torch.equal(value, initial[key]), key


def test_device_scope_keeps_each_rank_batch_apart(ranks, single):
    from ddp_global_batch_worker import build_model, global_batch, shard
    _, record = single
    inputs, samples = global_batch(0)
    for rank, saved in enumerate(ranks):
        own = build_model('device')(*shard(inputs, samples, rank), mode='loss')
        for key, value in own.items():
            assert saved['device_losses'][key] == pytest.approx(
                value.item(), rel=1e-5)
    mean = sum(r['device_losses']['cam.loss_rcm'] for r in ranks) / 2
    assert mean != pytest.approx(record[0]['losses']['cam.loss_rcm'], rel=1e-3)


def test_ranks_share_the_global_batch_of_the_sampler(ranks):
    """mmengine's samplers (InfiniteSampler in the shipped configs, and
    DefaultSampler) give rank r the images r, r + 2, ... of one process's
    order: the workers' shards are its global batches."""
    order = list(islice(InfiniteSampler(list(range(16)), seed=0), 16))
    for rank, saved in enumerate(ranks):
        assert saved['sampler'] == order[rank::2]


def test_auto_scale_lr_scales_to_the_global_batch(ranks):
    """2 processes x 4 images x 2 accumulated: twice the recipe's batch and
    lr; at the table's 2 x 4 images the ratio, and the lr, stay 1."""
    cfg = Config.fromfile(TOY_METHOD)
    plan = scale_out_plan(cfg, 2)
    assert (plan['batch_size'], plan['global_batch']) == (4, 8)
    for rank in ranks:
        # param groups: the backbone at the config lr, new layers at x10
        assert min(rank['lrs']) == pytest.approx(2 * plan['lr'])
        assert max(rank['lrs']) == pytest.approx(2 * 10 * plan['lr'])
