# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Diagnostics of the self-supervision against ground truth (pure math).

Each function counts pixels of one batch; the counts add up over batches
and :func:`shares` turns them into percentages. They answer, per module:

- MainNet's CAMs: foreground recall ("sparseness") and precision
  ("impreciseness") at a background threshold;
- RCM's region mask ``R``: which share of the ground-truth foreground and
  background it labels right, wrong or ignored;
- RCM's prototypes: which share of the trained pixels has a target class
  whose prototype came from other images of the batch, from the memory
  only, or is a zero vector;
- RCM's feature space: the mean cosine of a pixel feature to its own
  prototype and to the closest other one.
"""
from typing import Dict

import torch
from torch import Tensor

Counts = Dict[str, float]


def _check_pair(name: str, pred: Tensor, gt: Tensor) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f'{name} needs maps of one shape (N, H, W), got '
                         f'{tuple(pred.shape)} and {tuple(gt.shape)}')


def foreground_counts(norm_cams: Tensor,
                      gt: Tensor,
                      bg_thr: float,
                      ignore_index: int = 255) -> Counts:
    """Pixel counts of foreground recall and precision of CAMs.

    A pixel is predicted foreground where ``max_c norm_cams[c] > bg_thr``,
    of the class ``argmax_c norm_cams[c] + 1``; ground-truth foreground is
    ``1 <= gt != ignore_index``.

    Args:
        norm_cams (Tensor): Normalised CAMs in [0, 1], (N, C, H, W).
        gt (Tensor): Ground truth (N, H, W): 0 background, 1..C classes.
        bg_thr (float): Background threshold.
        ignore_index (int): Unlabelled pixels. Defaults to 255.

    Returns:
        dict: ``cam_hit`` (true foreground pixels predicted foreground),
        ``cam_wrong_class`` (of these, predicted as another class),
        ``cam_gt_fg``, ``cam_pred_fg`` (predicted foreground among the
        labelled pixels).
    """
    _check_pair('foreground_counts', norm_cams[:, 0], gt)
    known = gt != ignore_index
    gt_fg = known & (gt > 0)
    pred_fg = known & (norm_cams.amax(dim=1) > bg_thr)
    wrong_class = norm_cams.argmax(dim=1) + 1 != gt
    return dict(
        cam_hit=float((pred_fg & gt_fg).sum()),
        cam_wrong_class=float((pred_fg & gt_fg & wrong_class).sum()),
        cam_gt_fg=float(gt_fg.sum()),
        cam_pred_fg=float(pred_fg.sum()))


def region_mask_counts(mask: Tensor,
                       gt: Tensor,
                       ignore_index: int = 255) -> Counts:
    """Pixel counts of a region mask ``R`` against the ground truth.

    Args:
        mask (Tensor): Region mask (N, H, W): 0 background, 1..C classes,
            ``ignore_index`` ignored.
        gt (Tensor): Ground truth of the same shape and coding.
        ignore_index (int): Ignored label of both maps. Defaults to 255.

    Returns:
        dict: Over ground-truth foreground pixels: ``mask_fg_correct``
        (same class), ``mask_fg_as_bg``, ``mask_fg_wrong_class``,
        ``mask_fg_ignored`` and their total ``mask_gt_fg``; over
        ground-truth background: ``mask_bg_correct``, ``mask_bg_as_fg``,
        ``mask_bg_ignored`` and ``mask_gt_bg``.
    """
    _check_pair('region_mask_counts', mask, gt)
    known = gt != ignore_index
    gt_fg = known & (gt > 0)
    gt_bg = known & (gt == 0)
    ignored = mask == ignore_index
    as_bg = mask == 0
    as_fg = ~ignored & ~as_bg

    def count(x: Tensor) -> float:
        return float(x.sum())

    return dict(
        mask_fg_correct=count(gt_fg & (mask == gt)),
        mask_fg_as_bg=count(gt_fg & as_bg),
        mask_fg_wrong_class=count(gt_fg & as_fg & (mask != gt)),
        mask_fg_ignored=count(gt_fg & ignored),
        mask_gt_fg=count(gt_fg),
        mask_bg_correct=count(gt_bg & as_bg),
        mask_bg_as_fg=count(gt_bg & as_fg),
        mask_bg_ignored=count(gt_bg & ignored),
        mask_gt_bg=count(gt_bg))


PROTO_SOURCES = ('zero', 'batch', 'memory')


def prototype_source_counts(target: Tensor,
                            proto_source: Tensor,
                            ignore_index: int = 255) -> Counts:
    """Trained pixels counted by where their target's prototype came from.

    Args:
        target (Tensor): RCM target (N, H, W): 0..C or ``ignore_index``.
        proto_source (Tensor): Long (N, C + 1): 0 a zero vector, 1 other
            images of the batch (possibly with the memory), 2 the memory
            only.
        ignore_index (int): Ignored target. Defaults to 255.

    Returns:
        dict: ``target_zero``, ``target_batch``, ``target_memory`` and
        their total ``target``.
    """
    if proto_source.dim() != 2 or proto_source.shape[0] != target.shape[0]:
        raise ValueError('prototype_source_counts needs proto_source of '
                         f'shape (N, C + 1) for a target of shape (N, H, W), '
                         f'got {tuple(proto_source.shape)} and '
                         f'{tuple(target.shape)}')
    trained = target != ignore_index
    ids = target.masked_fill(~trained, 0).flatten(1).long()
    source = proto_source.gather(1, ids).view_as(target)
    counts = {
        f'target_{name}': float((trained & (source == code)).sum())
        for code, name in enumerate(PROTO_SOURCES)
    }
    counts['target'] = float(trained.sum())
    return counts


def prototype_cosine_sums(feats: Tensor,
                          protos: Tensor,
                          target: Tensor,
                          ignore_index: int = 255) -> Counts:
    """Cosines of pixel features to their own and to the other prototypes.

    Zero prototypes (classes without one) are no candidate "other"
    prototype. A pixel with no other prototype counts as winning.

    Args:
        feats (Tensor): L2-normalised pixel features (N, D, h, w).
        protos (Tensor): Prototypes (N, C + 1, D), unit or zero vectors.
        target (Tensor): RCM target at the features' size (N, h, w).
        ignore_index (int): Ignored target. Defaults to 255.

    Returns:
        dict: Sums over trained pixels of ``cos_own`` and ``cos_other``
        (the closest other prototype), the count ``own_wins`` of pixels
        closer to their own prototype than to any other, and ``pixels``.
    """
    _check_pair('prototype_cosine_sums', feats[:, 0], target)
    trained = target != ignore_index
    ids = target.masked_fill(~trained, 0).long()[:, None]
    cos = torch.einsum('ndhw,nkd->nkhw', feats.float(), protos.float())
    own = cos.gather(1, ids)[:, 0]
    absent = (protos.abs().sum(dim=2) == 0)[:, :, None, None]
    others = cos.masked_fill(absent, -2.0).scatter(1, ids, -2.0)
    other = others.amax(dim=1)
    has_other = other > -2.0
    return dict(
        cos_own=float(own[trained].sum()),
        cos_other=float(other[trained & has_other].sum()),
        other_pixels=float((trained & has_other).sum()),
        own_wins=float((trained & (own > other)).sum()),
        pixels=float(trained.sum()))


# (numerator, denominator) of each reported percentage
SHARES = dict(
    cam_fg_recall=('cam_hit', 'cam_gt_fg'),
    cam_fg_precision=('cam_hit', 'cam_pred_fg'),
    cam_fg_wrong_class=('cam_wrong_class', 'cam_gt_fg'),
    mask_fg_correct=('mask_fg_correct', 'mask_gt_fg'),
    mask_fg_as_bg=('mask_fg_as_bg', 'mask_gt_fg'),
    mask_fg_wrong_class=('mask_fg_wrong_class', 'mask_gt_fg'),
    mask_fg_ignored=('mask_fg_ignored', 'mask_gt_fg'),
    mask_bg_correct=('mask_bg_correct', 'mask_gt_bg'),
    mask_bg_as_fg=('mask_bg_as_fg', 'mask_gt_bg'),
    mask_bg_ignored=('mask_bg_ignored', 'mask_gt_bg'),
    proto_zero=('target_zero', 'target'),
    proto_batch=('target_batch', 'target'),
    proto_memory_only=('target_memory', 'target'),
    cos_own=('cos_own', 'pixels'),
    cos_other=('cos_other', 'other_pixels'),
    own_proto_wins=('own_wins', 'pixels'))


def shares(counts: Counts) -> Dict[str, float]:
    """Percentages (cosines: means x 100) of accumulated counts.

    Args:
        counts (dict): Sums of the counts of the functions above.

    Returns:
        dict: Every entry of ``SHARES`` whose counts are present and whose
        denominator is not zero.
    """
    out = {}
    for name, (num, den) in SHARES.items():
        if num in counts and counts.get(den, 0) > 0:
            out[name] = 100.0 * counts[num] / counts[den]
    return out
