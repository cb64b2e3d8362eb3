# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Run by ``test_distributed.py`` under torchrun (2 ranks, gloo): ReCAM's
SCE loss under DDP against one process on the same global batch."""
import json
import os.path as osp
import sys

import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.losses import recam_sce_loss
from mmseg_wsss.utils import shutdown_distributed

NUM_CLASSES, CHANNELS = 4, 6
# uneven shards, as the last batch of an epoch: rank 0 has 3, rank 1 has 2
SHARDS = ((0, 3), (3, 5))


def global_batch():
    """Five images' CAMs, features and labels; image 3 has no labels."""
    gen = torch.Generator().manual_seed(0)
    cams = torch.randn(5, NUM_CLASSES, 4, 4, generator=gen)
    feats = torch.rand(5, CHANNELS, 4, 4, generator=gen)
    labels = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 1, 0],
                           [0, 0, 0, 0], [0, 0, 1, 0]]).float()
    return cams, feats, labels


def build_head():
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='ReCAMHead', channels=CHANNELS, num_classes=NUM_CLASSES))


def main(out_dir: str) -> None:
    torch.distributed.init_process_group('gloo')
    init_default_scope('mmseg')
    cams, feats, labels = global_batch()
    start, end = SHARDS[get_rank()]
    ddp = torch.nn.parallel.DistributedDataParallel(build_head())
    logits = ddp(cams[start:end], feats[start:end])
    loss = ddp.module.loss_sce(logits, labels[start:end])
    loss.backward()
    losses = all_gather_object(float(loss))
    if get_rank() == 0:
        # one process on the whole batch: the loss's own math, no
        # collective (rank 1 is not there to join it)
        head = build_head()
        single = recam_sce_loss(head(cams, feats), labels)
        single.backward()
        result = dict(
            world_size=get_world_size(),
            rank_losses=losses,
            single_loss=float(single),
            ddp_grad=ddp.module.predictor.weight.grad.flatten().tolist(),
            single_grad=head.predictor.weight.grad.flatten().tolist())
        with open(osp.join(out_dir, 'recam_ddp.json'), 'w') as f:
            json.dump(result, f)
    shutdown_distributed()


if __name__ == '__main__':
    main(sys.argv[1])
