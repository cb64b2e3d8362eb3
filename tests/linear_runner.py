# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The smallest real mmengine training run: a line fitted by SGD."""
import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset


class ToyModel(BaseModel):
    """``y = w . x + b`` with a squared-error loss."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(inputs).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        return out


class ToyDataset(Dataset):
    """Eight points on a line; numpy metainfo as real data sets carry."""

    metainfo = dict(
        classes=('background', 'thing'),
        palette=np.array([[0, 0, 0], [128, 0, 0]], dtype=np.uint8),
        bg_thr=np.float64(0.25))

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(
            inputs=torch.tensor([idx / 8., 1.]),
            targets=torch.tensor(2. * idx / 8.))


def linear_runner(work_dir,
                  name,
                  max_iters,
                  checkpoint=dict(type='CheckpointHook', interval=2),
                  **kwargs):
    """A Runner of :class:`ToyModel`, saving by iteration.

    Args:
        work_dir (str): Work directory.
        name (str): Experiment name; unique names keep each runner's
            MessageHub its own.
        max_iters (int): Training iterations.
        checkpoint (dict): The checkpoint hook config (``by_epoch=False``
            is added).
        **kwargs: Other ``Runner`` arguments.
    """
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        experiment_name=name,
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[2], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(checkpoint, by_epoch=False)),
        randomness=dict(seed=0),
        log_level='WARNING',
        **kwargs)
