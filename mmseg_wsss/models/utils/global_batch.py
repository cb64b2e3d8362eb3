# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The images of all DDP ranks as one batch: the global batch.

mmengine's ``DefaultSampler`` and ``InfiniteSampler`` draw one order of the
dataset from the shared seed and give rank ``r`` of ``W`` its images
``r, r + W, r + 2W, ...``. Batch ``t`` of every rank together are then the
images of batch ``t`` of one process whose batch is ``W`` times larger, and
image ``i`` of rank ``r`` is image ``i * W + r`` of that process's batch
(:func:`global_positions`). The self-supervision heads use this order to
take their batch-level decisions (RCM's prototypes and memory, MAM's share)
as one process would on the global batch.

Outside a distributed run every function here is the identity of one
process: no collective is called.
"""
from typing import List, Sequence, Tuple

import torch
from mmengine.dist import all_gather, all_reduce, get_dist_info
from torch import Tensor


def global_positions(sizes: Sequence[int], rank: int) -> List[int]:
    """Where the images of ``rank`` sit in the global batch.

    The global batch interleaves the ranks' images as the samplers drew
    them: image ``i`` of every rank (in rank order) before image ``i + 1``
    of any; a rank that has no image ``i`` (an uneven last batch) is
    skipped. With equal sizes image ``i`` of rank ``r`` is at ``i * W + r``.

    Args:
        sizes (Sequence[int]): Images on each rank, in rank order.
        rank (int): The rank asked about.

    Returns:
        list[int]: The global position of each of its images, in order.
    """
    positions, pos = [], 0
    for i in range(max(sizes, default=0)):
        for r, size in enumerate(sizes):
            if i < size:
                if r == rank:
                    positions.append(pos)
                pos += 1
    return positions


def rank_batch_sizes(num: int, device: torch.device) -> Tuple[List[int], int]:
    """The batch size of every rank (``num`` here), and this rank."""
    rank, world = get_dist_info()
    if world == 1:
        return [num], 0
    sizes = all_gather(torch.tensor([num], device=device))
    return [int(s) for s in sizes], rank


def gather_global_batch(*tensors: Tensor) -> Tuple[List[Tensor], Tensor]:
    """The tensors of every rank's images, as one batch in global order.

    Every tensor has the images along dim 0 (the same number in each);
    their values are gathered without gradient (for batch statistics that
    are constants of the loss, as SupportNet's prototypes).

    Args:
        *tensors (Tensor): Per-image tensors of this rank, (N, ...).

    Returns:
        tuple[list[Tensor], Tensor]: The global-batch tensors, each
        (N_global, ...), and the long positions (N,) of this rank's images
        among them (:func:`global_positions`).
    """
    num = tensors[0].shape[0]
    device = tensors[0].device
    sizes, rank = rank_batch_sizes(num, device)
    local = torch.tensor(global_positions(sizes, rank), device=device)
    if len(sizes) == 1:
        return list(tensors), local
    order = torch.cat([
        torch.tensor(global_positions(sizes, r), device=device)
        for r in range(len(sizes))
    ])
    gathered = []
    for tensor in tensors:
        # all_gather needs one shape on every rank: pad to the largest batch
        # (and bytes for bool, which not every backend reduces)
        values = tensor.detach()
        if values.dtype == torch.bool:
            values = values.to(torch.uint8)
        padded = values.new_zeros((max(sizes), ) + values.shape[1:])
        padded[:num] = values
        parts = all_gather(padded)
        stacked = torch.cat([part[:size] for part, size in zip(parts, sizes)])
        out = torch.empty_like(stacked)
        out[order] = stacked
        gathered.append(out.to(tensor.dtype))
    return gathered, local


def mean_over_ranks(value: Tensor) -> Tensor:
    """``value`` averaged over the ranks, as float and without gradient.

    The denominator of a loss whose mean runs over the global batch (as
    mmdet's ``reduce_mean`` of ``avg_factor``): each rank divides its own
    sum by it, and DDP's average of the ranks' gradients is then the
    gradient of the global mean, also for ranks with different counts.
    """
    value = value.detach().float().clone()
    if get_dist_info()[1] > 1:
        all_reduce(value, op='mean')
    return value
