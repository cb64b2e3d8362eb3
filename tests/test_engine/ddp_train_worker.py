# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Run by ``test_distributed.py`` under torchrun: trains the toy method with
DDP (gloo, CPU) and checks that SupportNet is identical on every rank."""
import hashlib
import json
import os.path as osp
import sys

import torch
from mmengine.dist import all_gather_object, get_rank

from mmseg_wsss.utils import init_cpu_dist, shutdown_distributed

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from test_training import METHOD, toy_cfg  # noqa: E402


def support_digest(model) -> str:
    """SHA-1 of SupportNet's parameters and buffers."""
    digest = hashlib.sha1()
    for key, value in sorted(model.support.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(data_root: str, work_dir: str) -> None:
    from mmengine.runner import Runner
    cfg = toy_cfg(
        METHOD,
        data_root,
        work_dir,
        iters=4,
        batch_size=2,
        launcher='pytorch',
        model=dict(train_cfg=dict(self_sup_start_iter=0)))
    init_cpu_dist(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.module
    digests = all_gather_object(support_digest(model))
    steps = all_gather_object(int(model.support.steps))
    if get_rank() == 0:
        with open(osp.join(work_dir, 'ddp_result.json'), 'w') as f:
            json.dump(
                dict(
                    digests=digests,
                    steps=steps,
                    world_size=torch.distributed.get_world_size()), f)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
    shutdown_distributed()
