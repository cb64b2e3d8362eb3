# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Run by ``test_ddp_global_batch.py`` under torchrun (2 ranks, gloo, CPU).

Each rank trains the tiny DualCAMSegmentor (RCM + MAM, BN frozen as in the
shipped configs) under DDP for two SGD steps with an EMA update of
SupportNet after each, on its share of two global batches of 4 images: rank
``r`` gets images ``r`` and ``r + 2``, the share mmengine's samplers give
it. It saves what the test compares with one process on the 4 images: the
losses, MainNet's averaged gradients, the RCM memory, SupportNet, MainNet's
BatchNorm statistics, and one step at 1 image per rank; also the
losses of ``batch_scope='device'`` on its own images, the first indices its
``InfiniteSampler`` draws, and the lrs that ``tools/train.py --auto-scale-lr``
gives the toy config at twice its global batch.
"""
import os.path as osp
import sys
from itertools import islice

import torch
from mmengine.dist import get_dist_info

from mmseg_wsss.utils import shutdown_distributed

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from tiny_cam_net import BACKBONE, labelled_batch  # noqa: E402

#: Labels of the 8 images (two global batches of 4; C = 3)
LABELS = (
    [1, 0, 1],
    [0, 1, 0],
    [1, 1, 0],
    [0, 0, 1],
    [0, 1, 1],
    [1, 0, 0],
    [1, 1, 1],
    [0, 1, 0],
)
WORLD = 2


def build_model(batch_scope: str):
    """The tiny method, seeded: the same weights in every process."""
    from tiny_cam_net import build_segmentor
    torch.manual_seed(0)
    model = build_segmentor(
        'DualCAMSegmentor',
        backbone=dict(BACKBONE, norm_eval=True),
        rcm_head=dict(type='RCMHead', memory_size=3, batch_scope=batch_scope),
        mam_head=dict(type='MAMHead', batch_scope=batch_scope),
        train_cfg=dict(support_scales=(0.5, 1.0, 2.0)))
    model.update_support()
    return model.train()


def global_batch(step: int):
    """Images and samples of global batch ``step`` (4 images)."""
    return labelled_batch(LABELS[4 * step:4 * step + 4], seed=step)


def shard(inputs, samples, rank: int, world: int = WORLD):
    """The images of ``rank``: ``rank, rank + world, ...``."""
    return inputs[rank::world], samples[rank::world]


def train(model, batches, step_fn=None):
    """SGD steps on ``batches``; after each an EMA step of SupportNet.

    Returns the losses and MainNet's gradients of every step.
    """
    net = model if step_fn is None else step_fn
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1)
    record = []
    for inputs, samples in batches:
        optimizer.zero_grad()
        losses = net(inputs, samples, mode='loss')
        sum(losses.values()).backward()
        record.append(
            dict(
                losses={
                    k: v.item()
                    for k, v in losses.items()
                },
                grads={
                    k: p.grad.clone()
                    for k, p in model.named_parameters() if p.requires_grad
                }))
        optimizer.step()
        model.update_support()
    return record


def auto_scale_lrs(work_dir: str) -> list:
    """The lrs of tools/train.py --auto-scale-lr on the toy method at 4
    images per process and 2 accumulated micro-batches: a global batch of
    16 for the recipe's 8. No data is read: the runner is built, not
    trained."""
    from mmengine.runner import Runner
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
    from subprocess_utils import REPO_ROOT
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    import train as train_tool
    config = osp.join(REPO_ROOT, 'configs', 'toy',
                      'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
    args = train_tool.parse_args([
        config, '--auto-scale-lr', '--launcher', 'pytorch', '--data-root',
        work_dir, '--work-dir', work_dir, '--cfg-options',
        'train_dataloader.batch_size=4', 'optim_wrapper.accumulative_counts=2'
    ])
    runner = Runner.from_cfg(train_tool.build_config(args))
    # what Runner.train() does before its first iteration
    wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(wrapper, runner.auto_scale_lr)
    return [group['lr'] for group in wrapper.optimizer.param_groups]


def main(out_dir: str) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group('gloo')
    from mmengine.dataset import InfiniteSampler
    rank, world = get_dist_info()
    assert world == WORLD
    batches = [shard(*global_batch(step), rank) for step in range(2)]

    model = build_model('global')
    ddp = torch.nn.parallel.DistributedDataParallel(
        model, broadcast_buffers=False)
    record = train(model, batches, ddp)

    # 1 image per rank: MAM's half of the global batch is rank 0's image,
    # rank 1 runs no MAM (as ranks 4-7 at 8 GPUs x 1 image)
    inputs, samples = global_batch(0)
    single_image = build_model('global')
    uneven = train(
        single_image, [shard(inputs[:2], samples[:2], rank)],
        torch.nn.parallel.DistributedDataParallel(
            single_image, broadcast_buffers=False))

    device_model = build_model('device')
    device_losses = {
        k: float(v)
        for k, v in device_model(*batches[0], mode='loss').items()
    }
    # the shipped configs' training sampler
    sampler = islice(InfiniteSampler(list(range(16)), seed=0), 8)
    result = dict(
        record=record,
        uneven=uneven,
        memory=model.rcm_head.memory.state_dict(),
        main_bn={
            k: v
            for k, v in model.state_dict().items()
            if 'running_' in k and not k.startswith('support.')
        },
        support=model.support.state_dict(),
        device_losses=device_losses,
        sampler=list(sampler),
        lrs=auto_scale_lrs(out_dir))
    torch.save(result, osp.join(out_dir, f'rank{rank}.pt'))


if __name__ == '__main__':
    main(sys.argv[1])
    shutdown_distributed()
