# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Fully connected CRF refinement of CAMs (Krähenbühl and Koltun, 2011).

Needs ``pydensecrf2`` (module ``pydensecrf``), imported on first use so that
the package imports without it.
"""
import math
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

# probabilities are clipped before the log so that a zero becomes a large but
# finite energy (the value pydensecrf's ``unary_from_softmax`` uses)
PROB_CLIP = 1e-5


def _densecrf_module():
    """Import ``pydensecrf.densecrf``, saying how to install it if missing."""
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as err:
        raise ImportError('The dense CRF needs pydensecrf: '
                          'pip install pydensecrf2') from err
    return dcrf


def dense_crf(img: np.ndarray,
              probs: np.ndarray,
              iters: int = 10,
              gauss_sxy: float = 3,
              gauss_compat: float = 3,
              bi_sxy: float = 80,
              bi_srgb: float = 13,
              bi_compat: float = 10) -> np.ndarray:
    """Refine per-pixel class probabilities with a dense CRF.

    Unary energies are ``-log(probs)``; the pairwise terms are a Gaussian
    smoothness kernel and a bilateral (position + colour) appearance kernel,
    both with Potts compatibility.

    Args:
        img (np.ndarray): RGB image, uint8, shape (H, W, 3).
        probs (np.ndarray): Class probabilities (need not sum to 1), shape
            (K, H, W).
        iters (int): Mean-field iterations. Defaults to 10.
        gauss_sxy (float): Spatial std of the Gaussian kernel. Defaults to 3.
        gauss_compat (float): Weight of the Gaussian kernel. Defaults to 3.
        bi_sxy (float): Spatial std of the bilateral kernel. Defaults to 80.
        bi_srgb (float): Colour std of the bilateral kernel. Defaults to 13.
        bi_compat (float): Weight of the bilateral kernel. Defaults to 10.

    Returns:
        np.ndarray: Refined probabilities, float32, shape (K, H, W).
    """
    dcrf = _densecrf_module()
    if probs.ndim != 3:
        raise ValueError(
            f'dense_crf: probs must be (K, H, W), got shape {probs.shape}')
    num_labels, h, w = probs.shape
    if img.shape != (h, w, 3) or img.dtype != np.uint8:
        raise ValueError(
            f'dense_crf: img must be uint8 of shape {(h, w, 3)} to match '
            f'probs, got {img.dtype} {img.shape}')
    crf = dcrf.DenseCRF2D(w, h, num_labels)
    unary = -np.log(np.clip(probs, PROB_CLIP, None))
    crf.setUnaryEnergy(
        np.ascontiguousarray(unary.reshape(num_labels, -1), np.float32))
    crf.addPairwiseGaussian(sxy=gauss_sxy, compat=gauss_compat)
    crf.addPairwiseBilateral(
        sxy=bi_sxy,
        srgb=bi_srgb,
        rgbim=np.ascontiguousarray(img),
        compat=bi_compat)
    refined = np.asarray(crf.inference(iters), dtype=np.float32)
    return refined.reshape(num_labels, h, w)


def bg_alpha_from_thr(bg_thr: float) -> float:
    """Exponent ``alpha`` with ``(1 - bg_thr) ** alpha == bg_thr``.

    With background score ``(1 - max_c cam) ** alpha`` a pixel whose top CAM
    equals ``bg_thr`` scores the same for background and its class, so the
    CRF's unary starts from the same decision as the plain threshold.

    Args:
        bg_thr (float): Background threshold in (0, 1).

    Returns:
        float: ``log(bg_thr) / log(1 - bg_thr)``.
    """
    if not 0 < bg_thr < 1:
        raise ValueError(f'crf: bg_thr must be in (0, 1), got {bg_thr}')
    return math.log(bg_thr) / math.log(1 - bg_thr)


def crf_refine_cams(img: np.ndarray,
                    norm_cams: np.ndarray,
                    alpha: Optional[float] = None,
                    bg_thr: float = 0.15,
                    **crf_kwargs) -> np.ndarray:
    """Dense-CRF probabilities of background and classes from CAMs.

    The background score is ``(1 - max_c cam) ** alpha``. Only background and
    the present classes (maps not all zero) enter the CRF, so absent classes
    cannot take pixels; they come back as zero maps.

    Args:
        img (np.ndarray): RGB image, uint8, shape (H, W, 3).
        norm_cams (np.ndarray): Normalised CAMs in [0, 1], absent classes all
            zero, shape (C, H, W).
        alpha (float, optional): Background exponent. Defaults to None,
            meaning :func:`bg_alpha_from_thr` of ``bg_thr``.
        bg_thr (float): Threshold that ``alpha`` is derived from when not
            given. Defaults to 0.15.
        **crf_kwargs: Keyword arguments of :func:`dense_crf`.

    Returns:
        np.ndarray: Probabilities, float32, shape (C+1, H, W); channel 0 is
        background, absent classes are 0.
    """
    if alpha is None:
        alpha = bg_alpha_from_thr(bg_thr)
    norm_cams = np.asarray(norm_cams, dtype=np.float32)
    background = (1 - norm_cams.max(axis=0, initial=0))**alpha
    present = np.flatnonzero(norm_cams.reshape(len(norm_cams), -1).any(1))
    probs = np.concatenate([background[None], norm_cams[present]])
    refined = dense_crf(img, probs, **crf_kwargs)
    out = np.zeros((len(norm_cams) + 1, ) + norm_cams.shape[1:], np.float32)
    out[0] = refined[0]
    out[present + 1] = refined[1:]
    return out


class DenseCRF:
    """Dense CRF on normalised CAMs, configured once (e.g. ``test_cfg.crf``).

    Calls :func:`crf_refine_cams`. The defaults are the usual WSSS values:
    ``iters=10``, ``gauss_sxy=3``, ``gauss_compat=3``, ``bi_sxy=80``,
    ``bi_srgb=13``, ``bi_compat=10``, ``alpha=None`` (derived from
    ``bg_thr``) and ``bg_thr=0.15``.

    Args:
        **params: Keyword arguments of :func:`crf_refine_cams` and
            :func:`dense_crf` that override the defaults.

    Examples:
        >>> crf = DenseCRF(bg_thr=0.2, iters=5)
        >>> probs = crf(img, norm_cams)  # (C+1, H, W)
    """

    DEFAULTS = dict(
        iters=10,
        gauss_sxy=3,
        gauss_compat=3,
        bi_sxy=80,
        bi_srgb=13,
        bi_compat=10,
        alpha=None,
        bg_thr=0.15)

    def __init__(self, **params) -> None:
        unknown = set(params) - set(self.DEFAULTS)
        if unknown:
            raise KeyError(f'DenseCRF: unknown keys {sorted(unknown)}; '
                           f'allowed: {sorted(self.DEFAULTS)}')
        self.params = {**self.DEFAULTS, **params}

    def __call__(
            self, img: Union[np.ndarray, Tensor],
            norm_cams: Union[np.ndarray, Tensor]) -> Union[np.ndarray, Tensor]:
        """Refine CAMs into background + class probabilities.

        Args:
            img (np.ndarray | Tensor): RGB image, uint8, shape (H, W, 3).
            norm_cams (np.ndarray | Tensor): Normalised CAMs, shape (C, H, W).

        Returns:
            np.ndarray | Tensor: Probabilities of shape (C+1, H, W), of the
            type of ``norm_cams`` (a tensor keeps its device, float32).
        """
        if isinstance(img, Tensor):
            img = img.cpu().numpy()
        if isinstance(norm_cams, Tensor):
            probs = crf_refine_cams(img,
                                    norm_cams.detach().cpu().numpy(),
                                    **self.params)
            return torch.from_numpy(probs).to(norm_cams.device)
        return crf_refine_cams(img, norm_cams, **self.params)

    def refine_batch(self, images: Tensor, norm_cams: Tensor) -> Tensor:
        """Refine the CAMs of a batch, image by image.

        Args:
            images (Tensor): RGB images, uint8, shape (N, H, W, 3).
            norm_cams (Tensor): Normalised CAMs, shape (N, C, H, W).

        Returns:
            Tensor: Probabilities (N, C+1, H, W) on the device and of the
            dtype of ``norm_cams``.
        """
        images = images.cpu().numpy()
        probs = [
            torch.from_numpy(self(img,
                                  cams.float().cpu().numpy()))
            for img, cams in zip(images, norm_cams)
        ]
        return torch.stack(probs).to(norm_cams)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v}' for k, v in self.params.items())
        return f'{self.__class__.__name__}({args})'
