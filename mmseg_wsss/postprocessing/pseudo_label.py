# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Pseudo label maps from CAM predictions (thresholded CAMs, CRF, band)."""
from typing import Optional

import numpy as np
import torch

from mmseg_wsss.models.utils import region_mask
from mmseg_wsss.utils import IGNORE_INDEX
from .dense_crf import DenseCRF


def pseudo_label(cams: np.ndarray,
                 pred: np.ndarray,
                 bg_thr: float,
                 crf: Optional[DenseCRF] = None,
                 img: Optional[np.ndarray] = None,
                 ignore_band: Optional[float] = None,
                 name: str = 'image') -> np.ndarray:
    """Turn a CAM prediction into a pseudo label map.

    Without CRF the label is ``pred`` (argmax of ``[bg_thr, CAMs]``, ties to
    background, as in ``pred_sem_seg``); with CRF it is the argmax of the CRF
    probabilities. ``ignore_band`` then marks pixels whose top CAM score lies
    in ``[bg_thr - ignore_band, bg_thr + ignore_band)`` as 255: those are the
    pixels the threshold decides on least evidence.

    Args:
        cams (np.ndarray): Normalised CAMs (C, H, W) float32, as in
            ``seg_logits[1:]`` of a CAM segmentor's prediction.
        pred (np.ndarray): The thresholded prediction (H, W).
        bg_thr (float): Background threshold the prediction used.
        crf (DenseCRF, optional): Dense CRF to refine with. Defaults to None.
        img (np.ndarray, optional): RGB uint8 image (H, W, 3); needed with
            ``crf``. Defaults to None.
        ignore_band (float, optional): Half width of the ignored band.
            Defaults to None (no band).
        name (str): The image, for errors. Defaults to 'image'.

    Returns:
        np.ndarray: uint8 label map (H, W): 0 background, 1..C classes, 255
        ignored.
    """
    if crf is None:
        label = pred
    else:
        if img is None or img.shape[:2] != cams.shape[1:]:
            got = None if img is None else img.shape
            raise ValueError(f'{name}: the CRF needs the RGB image of shape '
                             f'{tuple(cams.shape[1:])} + (3,), got {got}')
        label = crf(img, cams).argmax(0)
    label = label.astype(np.uint8)
    if ignore_band:
        band = region_mask(
            torch.from_numpy(cams)[None], max(bg_thr - ignore_band, 0.0),
            min(bg_thr + ignore_band, 1.0), IGNORE_INDEX)[0]
        label[(band == IGNORE_INDEX).numpy()] = IGNORE_INDEX
    return label
