# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Relation labels for IRN: confident foreground and background from CAMs.

IRN (Ahn, Cho and Kwak, CVPR 2019) trains its boundary map on pixels whose
label the CAMs make sure of, each decided by a dense CRF on a thresholded
CAM segmentation, and leaves the rest unknown.
"""
from typing import Optional, Sequence

import numpy as np

from .dense_crf import dense_crf

# IRN's CRF on label maps: its bilateral kernel is narrower than the one
# used on CAM probabilities (sxy 80, srgb 13).
IRN_CRF = dict(
    iters=10, gauss_sxy=3, gauss_compat=3, bi_sxy=50, bi_srgb=5, bi_compat=10)


def crf_label_map(img: np.ndarray,
                  labels: np.ndarray,
                  num_labels: int,
                  gt_prob: float = 0.7,
                  crf: Optional[dict] = None) -> np.ndarray:
    """Dense CRF on a hard label map.

    Each pixel's unary puts probability ``gt_prob`` on its label and
    ``(1 - gt_prob) / (num_labels - 1)`` on every other label, as
    pydensecrf's ``unary_from_labels`` does; the CRF's argmax is returned.

    Args:
        img (np.ndarray): RGB image, uint8, shape (H, W, 3).
        labels (np.ndarray): Labels in ``0 .. num_labels - 1``, shape (H, W).
        num_labels (int): Number of labels, ``>= 1``.
        gt_prob (float): Confidence in the given labels, in (0, 1).
            Defaults to 0.7.
        crf (dict, optional): Keyword arguments of :func:`dense_crf`.
            Defaults to None, meaning ``IRN_CRF``.

    Returns:
        np.ndarray: Refined labels (H, W), int64.
    """
    if not 0 < gt_prob < 1:
        raise ValueError(f'gt_prob must lie in (0, 1), got {gt_prob}')
    if num_labels == 1:
        return np.zeros(labels.shape, np.int64)
    other = (1 - gt_prob) / (num_labels - 1)
    probs = np.full((num_labels, ) + labels.shape, other, np.float32)
    np.put_along_axis(probs, labels[None].astype(np.int64), gt_prob, axis=0)
    refined = dense_crf(img, probs, **(IRN_CRF if crf is None else crf))
    return refined.argmax(axis=0)


def relation_labels(img: np.ndarray,
                    cams: np.ndarray,
                    classes: Sequence[int],
                    conf_fg_thr: float = 0.30,
                    conf_bg_thr: float = 0.05,
                    gt_prob: float = 0.7,
                    crf: Optional[dict] = None,
                    ignore_index: int = 255) -> np.ndarray:
    """IRN's relation label map of one image from its CAMs.

    Twice, with a background score of ``conf_fg_thr`` and of
    ``conf_bg_thr``: argmax of ``[background, CAMs]`` (ties go to the
    background) -> :func:`crf_label_map`. A pixel is a confident class
    where the first CRF (high background score) gives that class, confident
    background where both CRFs give background, and ``ignore_index``
    otherwise (the classes' uncertain margin).

    When no pixel is confident the map is all ``ignore_index``: it adds no
    pair to the affinity loss. Callers should warn, naming the image, and
    still write the map, so that the relation label set stays complete.

    Args:
        img (np.ndarray): RGB image, uint8, shape (H, W, 3).
        cams (np.ndarray): Normalised CAMs (max 1) of the image's classes,
            shape (K, H, W).
        classes (Sequence[int]): Mask index (1..C) of each CAM, length K.
        conf_fg_thr (float): Background score for confident foreground.
            Defaults to 0.30.
        conf_bg_thr (float): Background score for confident background,
            ``<= conf_fg_thr``. Defaults to 0.05.
        gt_prob (float): See :func:`crf_label_map`. Defaults to 0.7.
        crf (dict, optional): Keyword arguments of :func:`dense_crf`.
            Defaults to None, meaning ``IRN_CRF``.
        ignore_index (int): Label of unknown pixels. Defaults to 255.

    Returns:
        np.ndarray: Relation labels (H, W), uint8: 0 background, the mask
        indices of ``classes``, and ``ignore_index``.
    """
    cams = np.asarray(cams, dtype=np.float32)
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if cams.ndim != 3 or len(classes) != len(cams):
        raise ValueError(
            f'relation_labels needs CAMs (K, H, W) and K classes, got CAMs '
            f'{cams.shape} and {len(classes)} classes')
    if img.shape != cams.shape[1:] + (3, ) or img.dtype != np.uint8:
        raise ValueError(
            f'relation_labels needs a uint8 image of shape '
            f'{cams.shape[1:] + (3, )}, got {img.dtype} {img.shape}')
    if len(classes) and (classes.min() < 1 or classes.max() > 254
                         or classes.max() == ignore_index):
        raise ValueError('classes must be mask indices in 1..254 other than '
                         f'ignore_index, got {classes.tolist()}')
    if not 0 <= conf_bg_thr <= conf_fg_thr <= 1:
        raise ValueError('relation_labels needs 0 <= conf_bg_thr <= '
                         f'conf_fg_thr <= 1, got {conf_bg_thr} and '
                         f'{conf_fg_thr}')
    # pydensecrf refuses read-only buffers (e.g. np.asarray of a PIL image)
    img = np.require(img, requirements=['C_CONTIGUOUS', 'WRITEABLE'])
    keys = np.concatenate([[0], classes])

    def confident(bg_score: float) -> np.ndarray:
        background = np.full((1, ) + cams.shape[1:], bg_score, np.float32)
        labels = np.concatenate([background, cams]).argmax(axis=0)
        return keys[crf_label_map(img, labels, len(keys), gt_prob, crf)]

    fg_conf = confident(conf_fg_thr)
    bg_conf = confident(conf_bg_thr)
    out = np.where(fg_conf == 0, ignore_index, fg_conf)
    out[(fg_conf == 0) & (bg_conf == 0)] = 0
    return out.astype(np.uint8)
