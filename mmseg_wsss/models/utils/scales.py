# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Resize factors of multi-scale passes: checking them, applying them."""
import math
from numbers import Real
from typing import Sequence

import torch.nn.functional as F
from torch import Tensor


def check_scales(key: str,
                 scales: Sequence[float],
                 with_one: bool = False) -> None:
    """Check a list of resize factors from a config.

    Args:
        key (str): Config key of the list, for the message.
        scales: The value found there.
        with_one (bool): Also require 1.0 (the pass at the input size that
            other results come from). Defaults to False.

    Raises:
        ValueError: ``scales`` is not a non-empty list or tuple of positive,
            finite numbers (including 1.0 when ``with_one``); the message
            names ``key``.
    """
    if not (isinstance(scales, (list, tuple)) and scales and all(
            isinstance(s, Real) and not isinstance(s, bool)
            and math.isfinite(s) and s > 0 for s in scales)):
        raise ValueError(f'{key} must be a non-empty list of positive '
                         f'scales, got {scales!r}')
    if with_one and 1.0 not in scales:
        raise ValueError(f'{key} must hold positive scales including 1.0 '
                         f'(the main pass), got {scales}')


def rescale_images(inputs: Tensor, scale: float) -> Tensor:
    """Bilinear resize of images (N, 3, H, W) by ``scale`` (1.0: as is).

    Returns:
        Tensor: Images (N, 3, round(H * scale), round(W * scale)), at least
        one pixel a side; ``inputs`` itself at scale 1.0.
    """
    if scale == 1.0:
        return inputs
    h, w = inputs.shape[-2:]
    return F.interpolate(
        inputs,
        size=(max(1, round(h * scale)), max(1, round(w * scale))),
        mode='bilinear',
        align_corners=False)
