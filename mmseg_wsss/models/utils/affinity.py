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
        radius: int) -> Tuple[Tuple[Offset, ...], Tuple[Offset, ...], Tensor]:
    """Offsets, the pixel shifts their segments use, and a path table.

    Returns:
        tuple: ``offsets`` (P pairs ``(dy, dx)``), ``shifts`` (the distinct
        ``(y, x)`` of all segments, ``(0, 0)`` first) and ``paths``, a long
        tensor (P, L) of indices into ``shifts``: the pixels of segment
        ``p``, padded with index 0 (the source pixel, on every segment) to
        the longest segment's length ``L``. Callers must not modify it.
    """
    _check_radius(radius)
    offsets = [(0, dx) for dx in range(1, radius)]
    offsets += [(dy, dx) for dy in range(1, radius)
                for dx in range(-radius + 1, radius)
                if dy * dy + dx * dx < radius * radius]
    segments = [segment_pixels(dy, dx) for dy, dx in offsets]
    shifts = [(0, 0)] + sorted({s for seg in segments for s in seg} - {(0, 0)})
    index = {s: i for i, s in enumerate(shifts)}
    longest = max(len(seg) for seg in segments)
    paths = torch.zeros(len(offsets), longest, dtype=torch.long)
    for p, seg in enumerate(segments):
        paths[p, :len(seg)] = torch.tensor([index[s] for s in seg])
    return tuple(offsets), tuple(shifts), paths


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


def _partners(padded: Tensor, offsets, size: Tuple[int, int]) -> Tensor:
    """Stack (N, len(offsets), h, w) of the padded map shifted by offsets;
    entry ``[:, k, y, x]`` is the value at ``(y, x) + offsets[k]``."""
    h, w = size
    m = (padded.shape[-1] - w) // 2
    return torch.stack(
        [padded[..., dy:dy + h, m + dx:m + dx + w] for dy, dx in offsets],
        dim=1)


def affinity_from_boundary(boundary: Tensor, radius: int) -> Tensor:
    """Affinities ``a_ij = 1 - max`` of a boundary map on the segment i-j.

    The segment's pixels are those of :func:`segment_pixels` (both ends
    included). Outside the map counts as boundary 1, so a pair whose
    partner lies outside gets affinity 0.

    The maximum runs without autograd; its gradient reaches the boundary
    map through a gather at the arg-max pixel, which is what ``max`` would
    back-propagate, without keeping (N, P, L, h, w) path values for the
    backward pass. Memory is O(N * (P + S) * h * w) for P pairs and S
    distinct segment pixels (S = 39 at radius 5, 162 at radius 10).

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
    _, shifts, paths = _pair_geometry(radius)
    size = tuple(boundary.shape[-2:])
    values = _partners(
        _pad_for_pairs(boundary[:, 0], radius, 1.0), shifts, size)
    paths = paths.to(boundary.device)
    with torch.no_grad():
        best = values[:, paths[:, 0]]
        arg = paths[:, 0].view(1, -1, 1, 1).expand_as(best).clone()
        for step in range(1, paths.shape[1]):
            candidate = values[:, paths[:, step]]
            higher = candidate > best
            best = torch.where(higher, candidate, best)
            arg = torch.where(higher, paths[:, step].view(1, -1, 1, 1), arg)
    return 1 - values.gather(1, arg)


def relation_pair_labels(
        labels: Tensor,
        radius: int,
        ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor]:
    """Positive and negative pairs of a relation label map.

    A pair with both pixels labelled (not ``ignore_index``, inside the map)
    is positive when the labels agree, split into background positives
    (both 0) and foreground positives (both the same class > 0), and
    negative when they differ. Pairs with an ignored pixel or a partner
    outside the map are in none of the three.

    Args:
        labels (Tensor): Integer label map (N, h, w): 0 background,
            1..C classes, ``ignore_index`` unknown.
        radius (int): Pairs are strictly closer than this, ``>= 2``.
        ignore_index (int): Label of unknown pixels. Defaults to 255.

    Returns:
        tuple[Tensor, Tensor, Tensor]: Boolean masks ``bg_pos``, ``fg_pos``
        and ``neg``, each of shape (N, P, h, w), pairwise disjoint.
    """
    if labels.dim() != 3 or labels.is_floating_point():
        raise ValueError('relation_pair_labels needs an integer label map of '
                         f'shape (N, h, w), got {labels.dtype} '
                         f'{tuple(labels.shape)}')
    offsets, _, _ = _pair_geometry(radius)
    labels = labels.long()
    partner = _partners(
        _pad_for_pairs(labels, radius, ignore_index), offsets,
        tuple(labels.shape[-2:]))
    source = labels[:, None]
    valid = (source != ignore_index) & (partner != ignore_index)
    same = source == partner
    positive = valid & same
    return positive & (source == 0), positive & (source != 0), valid & ~same
