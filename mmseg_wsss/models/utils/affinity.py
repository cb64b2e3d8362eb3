# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Inter-pixel affinities from a class boundary map (IRN's relations).

Pixels ``i`` and ``j = i + (dy, dx)`` of a map form a pair when
``0 < dy^2 + dx^2 < radius^2``. Each unordered pair is listed once, by the
direction that points down or, within a row, right (``dy > 0``, or
``dy == 0`` and ``dx > 0``), so a pixel has ``P`` partners "ahead" of it and
the other ``P`` name it as theirs. Every per-pair tensor here has shape
(N, P, h, w): entry ``[n, p, y, x]`` is the pair of source pixel ``(y, x)``
and its partner ``(y + dy_p, x + dx_p)``. Pairs whose partner lies outside
the map are kept in that layout and marked: their affinity is 0 and their
label is "ignored".

Pure functions, tensors in and tensors out.
"""
import functools
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

Offset = Tuple[int, int]


def _check_radius(radius: int) -> None:
    """Reject radii that give no pair or are not whole numbers."""
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 2:
        raise ValueError(
            f'radius must be an int >= 2 (radius 1 has no pair), got '
            f'{radius!r}')


def segment_pixels(dy: int, dx: int) -> List[Offset]:
    """Pixels on the straight segment from ``(0, 0)`` to ``(dy, dx)``.

    A pixel ``(y, x)`` of the segment's bounding box belongs to it when its
    centre lies closer than one pixel to the line through both ends:
    ``(dy * x - dx * y)^2 < dy^2 + dx^2`` (integer arithmetic, so exact).
    Both ends are included, and a diagonal step includes both pixels beside
    it, so no wall of 8-connected pixels can be crossed without touching
    one of them.

    Args:
        dy (int): Row offset of the far end.
        dx (int): Column offset of the far end; ``(dy, dx) != (0, 0)``.

    Returns:
        list[tuple[int, int]]: ``(y, x)`` offsets from the near end, row by
        row.
    """
    if dy == 0 and dx == 0:
        raise ValueError('segment_pixels needs two distinct ends')
    length_sq = dy * dy + dx * dx
    return [(y, x) for y in range(min(0, dy),
                                  max(0, dy) + 1)
            for x in range(min(0, dx),
                           max(0, dx) + 1) if (dy * x - dx * y)**2 < length_sq]


@functools.lru_cache(maxsize=None)
def _pair_geometry(
        radius: int) -> Tuple[Tuple[Offset, ...], Tuple[List[Offset], ...]]:
    """The pair directions and the pixels of their segments.

    Returns:
        tuple: ``offsets`` (P pairs ``(dy, dx)``) and, for each, its
        :func:`segment_pixels`. Callers must not modify them.
    """
    _check_radius(radius)
    offsets = [(0, dx) for dx in range(1, radius)]
    offsets += [(dy, dx) for dy in range(1, radius)
                for dx in range(-radius + 1, radius)
                if dy * dy + dx * dx < radius * radius]
    return tuple(offsets), tuple(segment_pixels(dy, dx) for dy, dx in offsets)


def pair_offsets(radius: int) -> Tensor:
    """The pair directions within ``radius``, one per unordered pair.

    ``(0, dx)`` for ``dx = 1 .. radius - 1``, then for each ``dy = 1 ..
    radius - 1`` the ``dx`` in ``-(radius - 1) .. radius - 1`` with
    ``dy^2 + dx^2 < radius^2``. Radius 2 gives ``(0, 1), (1, -1), (1, 0),
    (1, 1)``; radius 5 gives 34 directions, radius 10 gives 152.

    Args:
        radius (int): Pairs are strictly closer than this, ``>= 2``.

    Returns:
        Tensor: Long tensor (P, 2) of ``(dy, dx)``; its row order is the
        ``P`` axis of every per-pair tensor.
    """
    return torch.tensor(_pair_geometry(radius)[0], dtype=torch.long)


def _pad_for_pairs(x: Tensor, radius: int, value: float) -> Tensor:
    """Pad the last two dims so every partner ``(y + dy, x + dx)`` exists:
    ``radius - 1`` columns left and right and rows at the bottom."""
    m = radius - 1
    return F.pad(x, (m, m, 0, m), value=value)


class _Shifted:
    """Views of a map padded by :func:`_pad_for_pairs`: ``shifted(dy, dx)``
    is the (..., h, w) map of the values at ``(y + dy, x + dx)``."""

    def __init__(self, padded: Tensor, size: Tuple[int, int]) -> None:
        self.padded = padded
        self.h, self.w = size
        self.m = (padded.shape[-1] - self.w) // 2

    def __call__(self, dy: int, dx: int) -> Tensor:
        x0 = self.m + dx
        return self.padded[..., dy:dy + self.h, x0:x0 + self.w]

    def flat_index(self) -> Tensor:
        """Indices (h, w) of the unshifted pixels in the flattened padded
        map; the shift ``(dy, dx)`` adds ``dy * W + dx`` (``W`` its
        width)."""
        width = self.padded.shape[-1]
        device = self.padded.device
        ys = torch.arange(self.h, device=device)
        xs = torch.arange(self.m, self.m + self.w, device=device)
        return ys[:, None] * width + xs[None, :]


def affinity_from_boundary(boundary: Tensor, radius: int) -> Tensor:
    """Affinities ``a_ij = 1 - max`` of a boundary map on the segment i-j.

    The segment's pixels are those of :func:`segment_pixels` (both ends
    included). Outside the map counts as boundary 1, so a pair whose
    partner lies outside gets affinity 0.

    The maximum runs without autograd, direction by direction over views of
    the map, remembering where it was found; the result is then gathered
    from there with autograd, which gives ``max``'s gradient (to the
    maximal pixel) without keeping every segment pixel's value for the
    backward pass. Memory is O(N * P * h * w): one float and one index per
    pair (P = 34 at radius 5, 152 at radius 10).

    Args:
        boundary (Tensor): Boundary probabilities in [0, 1], shape
            (N, 1, h, w).
        radius (int): Pairs are strictly closer than this, ``>= 2``.

    Returns:
        Tensor: Affinities in [0, 1], shape (N, P, h, w), in the order of
        :func:`pair_offsets`.
    """
    if boundary.dim() != 4 or boundary.shape[1] != 1:
        raise ValueError('affinity_from_boundary needs a boundary map of '
                         f'shape (N, 1, h, w), got {tuple(boundary.shape)}')
    _, segments = _pair_geometry(radius)
    n, _, h, w = boundary.shape
    padded = _pad_for_pairs(boundary[:, 0], radius, 1.0)
    shifted = _Shifted(padded, (h, w))
    source, width = shifted.flat_index(), padded.shape[-1]
    where = boundary.new_empty((n, len(segments), h, w), dtype=torch.long)
    with torch.no_grad():
        for p, segment in enumerate(segments):
            (dy, dx), rest = segment[0], segment[1:]
            best = shifted(dy, dx)
            index = (source + dy * width + dx).expand(n, h, w)
            for dy, dx in rest:
                value = shifted(dy, dx)
                higher = value > best
                best = torch.maximum(best, value)
                index = torch.where(higher, source + dy * width + dx, index)
            where[:, p] = index
    maxima = padded.flatten(1).gather(1, where.flatten(1))
    return 1 - maxima.view(n, len(segments), h, w)


def relation_pair_labels(
        labels: Tensor,
        radius: int,
        ignore_index: int = 255,
        sources: str = 'all') -> Tuple[Tensor, Tensor, Tensor]:
    """Positive and negative pairs of a relation label map.

    A pair with both pixels labelled (not ``ignore_index``, inside the map)
    is positive when the labels agree, split into background positives
    (both 0) and foreground positives (both the same class > 0), and
    negative when they differ. Pairs with an ignored pixel or a partner
    outside the map are in none of the three.

    ``sources='inner'`` keeps IRN's training pairs (``misc/indexing.py``,
    ``PathIndex``): only source pixels whose every partner lies inside the
    map, i.e. rows ``[0, h - m)`` and columns ``[m, w - m)`` with
    ``m = radius - 1``; ``'all'`` takes every source pixel with any partner
    inside (17 % more pairs on a fully labelled 128 x 128 map at radius
    10: 2,329,192 instead of IRN's 13,090 sources x 152 directions).

    Args:
        labels (Tensor): Integer label map (N, h, w): 0 background,
            1..C classes, ``ignore_index`` unknown.
        radius (int): Pairs are strictly closer than this, ``>= 2``.
        ignore_index (int): Label of unknown pixels. Defaults to 255.
        sources (str): ``'all'`` or ``'inner'``, see above.
            Defaults to 'all'.

    Returns:
        tuple[Tensor, Tensor, Tensor]: Boolean masks ``bg_pos``, ``fg_pos``
        and ``neg``, each of shape (N, P, h, w), pairwise disjoint.
    """
    if labels.dim() != 3 or labels.is_floating_point():
        raise ValueError('relation_pair_labels needs an integer label map of '
                         f'shape (N, h, w), got {labels.dtype} '
                         f'{tuple(labels.shape)}')
    if sources not in ('all', 'inner'):
        raise ValueError(f"sources must be 'all' or 'inner', got {sources!r}")
    offsets, _ = _pair_geometry(radius)
    n, h, w = labels.shape
    shifted = _Shifted(
        _pad_for_pairs(labels.long(), radius, ignore_index), (h, w))
    source = shifted(0, 0)
    known = source != ignore_index
    if sources == 'inner':
        m = radius - 1
        inner = torch.zeros_like(known)
        inner[:, :max(h - m, 0), m:max(w - m, m)] = True
        known = known & inner
    masks = [
        labels.new_empty((n, len(offsets), h, w), dtype=torch.bool)
        for _ in range(3)
    ]
    bg_pos, fg_pos, neg = masks
    for p, (dy, dx) in enumerate(offsets):
        partner = shifted(dy, dx)
        valid = known & (partner != ignore_index)
        same = source == partner
        torch.logical_and(valid & same, source == 0, out=bg_pos[:, p])
        torch.logical_and(valid & same, source != 0, out=fg_pos[:, p])
        torch.logical_and(valid, ~same, out=neg[:, p])
    return bg_pos, fg_pos, neg
