# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Random walk propagation of score maps over inter-pixel affinities.

IRN (Ahn, Cho and Kwak, CVPR 2019) builds a transition matrix from the
affinities of all pairs within a radius and propagates class activation
maps by its ``2^exp_times``-th power. The graph is local, so instead of
squaring a dense (hw x hw) matrix ``exp_times`` times, which costs
O((hw)^2) memory (a 500 x 375 VOC image gives a 125 x 94 map at stride 4,
11,750 pixels, and one dense float32 matrix of 552 MB, three of them while
squaring), the maps are multiplied ``2^exp_times`` times by the sparse
matrix. Both give ``T^(2^exp_times) x`` up to float rounding.

Pure functions, tensors in and tensors out; see :mod:`.affinity` for the
per-pair layout (N, P, h, w).
"""
import contextlib
import warnings

import torch
from torch import Tensor

from .affinity import pair_offsets


def transition_matrix(affinities: Tensor, radius: int, beta: float) -> Tensor:
    """Row-normalised sparse transition matrix ``D^-1 A`` of a pair graph.

    ``A`` is symmetric: ``A_ij = A_ji = a_ij ** beta`` for every pair of
    ``affinities`` whose partner lies inside the map, ``A_ii = 1`` (a
    self-loop, so a pixel without partners keeps its value), 0 elsewhere;
    ``D`` is the diagonal of its row sums. The images of a batch are the
    diagonal blocks of one block-diagonal matrix, pixel ``(n, y, x)`` at
    index ``(n * h + y) * w + x``.

    Memory: ``N * h * w * (2P + 1)`` non-zeros (P = 34 at radius 5), i.e.
    O(N h w r^2), about 10 MB for one VOC image at stride 4.

    Args:
        affinities (Tensor): Pair affinities in [0, 1] (N, P, h, w), in the
            order of :func:`pair_offsets` of ``radius``.
        radius (int): The radius the affinities were computed with.
        beta (float): Exponent sharpening the affinities, ``> 0``.

    Returns:
        Tensor: Sparse CSR matrix (N h w, N h w) of ``affinities.dtype``;
        its rows sum to 1.
    """
    if beta <= 0:
        raise ValueError(f'beta must be > 0, got {beta}')
    offsets = pair_offsets(radius).to(affinities.device)
    if affinities.dim() != 4 or affinities.shape[1] != len(offsets):
        raise ValueError(
            f'affinities must have shape (N, {len(offsets)}, h, w) for '
            f'radius {radius}, got {tuple(affinities.shape)}')
    n, num_pairs, h, w = affinities.shape
    device = affinities.device
    ys = torch.arange(h, device=device).view(1, h, 1)
    xs = torch.arange(w, device=device).view(1, 1, w)
    target_y = ys + offsets[:, 0].view(-1, 1, 1)
    target_x = xs + offsets[:, 1].view(-1, 1, 1)
    inside = (target_y < h) & (target_x >= 0) & (target_x < w)
    source = (ys * w + xs).expand(num_pairs, h, w)[inside]
    target = (target_y * w + target_x)[inside]
    first = torch.arange(n, device=device).view(n, 1) * (h * w)
    source = (first + source).flatten()
    target = (first + target).flatten()
    weights = affinities.pow(beta)[:, inside].flatten()
    diagonal = torch.arange(n * h * w, device=device)
    rows = torch.cat([source, target, diagonal])
    cols = torch.cat([target, source, diagonal])
    values = torch.cat([weights, weights, weights.new_ones(n * h * w)])
    degree = values.new_zeros(n * h * w).index_add_(0, rows, values)
    # the indices are in range by construction
    matrix = torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        values / degree[rows],
        size=(n * h * w, n * h * w),
        check_invariants=False)
    with warnings.catch_warnings():
        # CSR products are stable for this use; torch still calls them beta
        warnings.filterwarnings('ignore', 'Sparse CSR tensor support')
        return matrix.coalesce().to_sparse_csr()


@contextlib.contextmanager
def _one_thread_on_cpu(device: torch.device):
    """Run torch's CPU ops of the block on one thread, then restore.

    A sparse product with a few columns is too small to share: on a 2-core
    machine that other processes keep busy, 2^8 of them for a VOC image
    took 4.5 s on 2 threads and 0.56 s on 1 (torch 2.14, CSR).
    """
    threads = torch.get_num_threads()
    if device.type != 'cpu' or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def random_walk(x: Tensor,
                affinities: Tensor,
                radius: int,
                beta: float = 10.0,
                exp_times: int = 8) -> Tensor:
    """Propagate score maps by ``2^exp_times`` random walk steps.

    Each step replaces every pixel's scores by the average of its own and
    its partners' scores, weighted by ``a^beta`` (:func:`transition_matrix`
    ``T = D^-1 A``), so after ``t = 2^exp_times`` steps the maps are
    ``T^t x`` per channel. This is IRN's ``x`` times its column-normalised
    matrix raised to ``2^exp_times`` by repeated squaring, computed as ``t``
    sparse products.

    Cost: time O(2^exp_times * N h w r^2 K), memory O(N h w (r^2 + K)).
    For a 500 x 375 image (125 x 94 at stride 4), radius 5 and 3 maps the
    walk peaks at about 0.1 GB (``benchmarks/bench_random_walk.py``),
    where dense squaring would hold three 552 MB matrices. On the CPU the
    products run on one thread (see :func:`_one_thread_on_cpu`).

    Args:
        x (Tensor): Score maps to propagate, e.g. CAMs at the affinities'
            stride, shape (N, K, h, w).
        affinities (Tensor): Pair affinities (N, P, h, w) of ``radius``.
        radius (int): The radius the affinities were computed with.
        beta (float): Affinity exponent, ``> 0``. Defaults to 10.0.
        exp_times (int): The walk takes ``2 ** exp_times`` steps, ``>= 0``.
            Defaults to 8.

    Returns:
        Tensor: Propagated maps (N, K, h, w) of ``x.dtype``.
    """
    if isinstance(exp_times,
                  bool) or not isinstance(exp_times, int) or exp_times < 0:
        raise ValueError(f'exp_times must be an int >= 0, got {exp_times!r}')
    n, k, h, w = x.shape
    if affinities.shape[0] != n or tuple(affinities.shape[-2:]) != (h, w):
        raise ValueError(
            f'x {tuple(x.shape)} and affinities {tuple(affinities.shape)} '
            'must share N, h and w')
    matrix = transition_matrix(affinities.to(x.dtype), radius, beta)
    flat = x.permute(0, 2, 3, 1).reshape(n * h * w, k)
    with _one_thread_on_cpu(flat.device):
        for _ in range(2**exp_times):
            flat = matrix @ flat
    return flat.view(n, h, w, k).permute(0, 3, 1, 2).contiguous()
