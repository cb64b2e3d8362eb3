# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Class activation map (CAM) math: normalisation and region masks.

Pure functions, tensors in and tensors out. ``C`` counts foreground classes
only; background is implied and gets index 0 in every mask.
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .scales import rescale_images


def normalize_cams(cams: Tensor, labels: Tensor, eps: float = 1e-5) -> Tensor:
    """ReLU, mask by the image labels, divide each map by its spatial max.

    Args:
        cams (Tensor): Raw CAMs, shape (N, C, H, W).
        labels (Tensor): Multi-hot image labels, shape (N, C).
        eps (float): Added to the maximum so that all-zero maps stay zero
            instead of becoming NaN. Defaults to 1e-5.

    Returns:
        Tensor: Normalised CAMs in [0, 1), shape (N, C, H, W), in at least
        float32; absent classes are all zero.
    """
    # Under autocast the CAMs may be bfloat16/float16; dividing by the max
    # in their 8/11-bit mantissa would put steps of up to 0.4 % into the
    # maps that the region thresholds cut, so the math runs in float32.
    dtype = torch.promote_types(cams.dtype, torch.float32)
    cams = F.relu(cams.to(dtype)) * labels[:, :, None, None].to(dtype)
    peak = cams.flatten(2).amax(dim=2)[:, :, None, None]
    return cams / (peak + eps)


def region_mask(norm_cams: Tensor,
                bg_thr: float,
                fg_thr: float,
                ignore_index: int = 255) -> Tensor:
    """Turn normalised CAMs into a background / class / ignore mask.

    A pixel whose highest class score is below ``bg_thr`` is background (0),
    at or above ``fg_thr`` it takes its argmax class (1..C), and in between it
    is ``ignore_index``. ``bg_thr == fg_thr`` gives a single threshold.

    Args:
        norm_cams (Tensor): Normalised CAMs, shape (N, C, H, W).
        bg_thr (float): Background threshold.
        fg_thr (float): Foreground threshold, ``>= bg_thr``.
        ignore_index (int): Label of the uncertain band. Defaults to 255.

    Returns:
        Tensor: Long mask of shape (N, H, W).
    """
    if bg_thr > fg_thr:
        raise ValueError(
            f'region_mask needs bg_thr <= fg_thr, got {bg_thr} > {fg_thr}')
    score, cls = norm_cams.max(dim=1)
    mask = torch.full_like(cls, ignore_index)
    mask[score < bg_thr] = 0
    fg = score >= fg_thr
    mask[fg] = cls[fg] + 1
    return mask


def strided_size(size: Sequence[int], stride: int = 4) -> Tuple[int, int]:
    """Size of a map at ``stride`` of an image: ``((H - 1) // s + 1, (W - 1)
    // s + 1)``, i.e. one cell per started block of ``s`` pixels.

    It is IRN's (``get_strided_size``) and the size of a ResNet's output at
    that stride (a 7 x 7 / 2 conv, then a 3 x 3 / 2 max-pool for stride 4).

    Args:
        size (Sequence[int]): Image size ``(H, W)``.
        stride (int): Stride, ``>= 1``. Defaults to 4.

    Returns:
        tuple[int, int]: The map size.
    """
    if stride < 1:
        raise ValueError(f'stride must be >= 1, got {stride}')
    height, width = size[-2:]
    return (height - 1) // stride + 1, (width - 1) // stride + 1


def scale_cams(cam_fn: Callable[[Tensor], Tensor],
               inputs: Tensor,
               scales: Sequence[float] = (1.0, ),
               flip: bool = False) -> List[Tensor]:
    """ReLU'd CAMs of each scale at the network's resolution.

    An image and its mirror run as one batch, so each scale costs one network
    call; the mirror's CAMs are flipped back and added (IRN's order: before
    any resize, which commutes with the flip).

    Args:
        cam_fn (Callable): Maps images (B, 3, h, w) to raw CAMs (B, C, h', w').
        inputs (Tensor): Normalised images (N, 3, H, W).
        scales (Sequence[float]): Resize factors. Defaults to (1.0, ).
        flip (bool): Also run the horizontally flipped images.
            Defaults to False.

    Returns:
        list[Tensor]: One map (N, C, h'_s, w'_s) per scale, unnormalised.
    """
    if not scales:
        raise ValueError('multiscale_cams needs at least one scale')
    n = inputs.shape[0]
    maps = []
    for scale in scales:
        x = rescale_images(inputs, scale)
        if flip:
            x = torch.cat([x, x.flip(-1)])
        cams = F.relu(cam_fn(x))
        if flip:
            cams = cams[:n] + cams[n:].flip(-1)
        maps.append(cams)
    return maps


def sum_resized(maps: Sequence[Tensor], size: Sequence[int]) -> Tensor:
    """Sum of maps after a bilinear resize (``align_corners=False``) of each
    to ``size``, as IRN sums its scales.

    Args:
        maps (Sequence[Tensor]): Maps (N, C, h_s, w_s), e.g. of
            :func:`scale_cams`.
        size (Sequence[int]): Output size ``(H', W')``.

    Returns:
        Tensor: (N, C, H', W').
    """
    size = tuple(size)
    total = None
    for cams in maps:
        cams = F.interpolate(
            cams, size=size, mode='bilinear', align_corners=False)
        total = cams if total is None else total + cams
    return total


def multiscale_cams(cam_fn: Callable[[Tensor], Tensor],
                    inputs: Tensor,
                    scales: Sequence[float] = (1.0, ),
                    flip: bool = False,
                    out_size: Optional[Tuple[int, int]] = None) -> Tensor:
    """Sum of ReLU'd CAMs over scales and (optionally) horizontal flips:
    :func:`scale_cams` then :func:`sum_resized`.

    Args:
        cam_fn (Callable): Maps images (B, 3, h, w) to raw CAMs (B, C, h', w').
        inputs (Tensor): Normalised images (N, 3, H, W).
        scales (Sequence[float]): Resize factors. Defaults to (1.0, ).
        flip (bool): Also run the horizontally flipped images.
            Defaults to False.
        out_size (tuple[int, int], optional): Size (H', W') of the output
            maps. Defaults to the input size (H, W).

    Returns:
        Tensor: Summed, unnormalised CAMs (N, C, H', W').
    """
    return sum_resized(
        scale_cams(cam_fn, inputs, scales, flip), out_size
        or inputs.shape[-2:])


def cams_to_seg_logits(norm_cams: Tensor, bg_score: Union[float,
                                                          Tensor]) -> Tensor:
    """Prepend a background score to normalised CAMs.

    Args:
        norm_cams (Tensor): Normalised CAMs (N, C, H, W).
        bg_score (float | Tensor): Constant background score (the threshold)
            or a map (N, 1, H, W).

    Returns:
        Tensor: (N, C + 1, H, W) scores whose argmax is the segmentation.
    """
    n, _, h, w = norm_cams.shape
    if not torch.is_tensor(bg_score):
        bg_score = norm_cams.new_full((n, 1, h, w), float(bg_score))
    return torch.cat([bg_score, norm_cams], dim=1)
