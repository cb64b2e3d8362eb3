# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Class-specific features: a CAM-weighted mean of pixel features per class.

Pure functions, tensors in and tensors out (ReCAM's re-activation input).
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def class_specific_features(cams: Tensor,
                            feats: Tensor,
                            eps: float = 1e-5) -> Tensor:
    """One feature vector per class: pixel features weighted by its CAM.

    ``A_k = ReLU(cams_k) / (max_p ReLU(cams_k)(p) + eps)`` and
    ``f_k = 1/(h w) * sum_p A_k(p) f(p)``: the mean over *all* pixels, not
    the CAM-weighted average, so a class with a small map gets a short
    vector. Nothing is detached. One einsum over pixels: the (N, C, D, h, w)
    product of the naive form is never built.

    Args:
        cams (Tensor): Raw CAMs of every class, shape (N, C, h, w).
        feats (Tensor): Pixel features, shape (N, D, h, w).
        eps (float): Added to each map's maximum; an all-zero map gives a
            zero vector. Defaults to 1e-5.

    Returns:
        Tensor: Class-specific features, shape (N, C, D), in at least
        float32 (also under autocast).
    """
    if cams.dim() != 4 or feats.dim() != 4 or \
            cams.shape[0] != feats.shape[0] or \
            cams.shape[2:] != feats.shape[2:]:
        raise ValueError(
            'class_specific_features needs cams (N, C, h, w) and feats '
            '(N, D, h, w) of the same N, h and w, got '
            f'{tuple(cams.shape)} and {tuple(feats.shape)}')
    dtype = torch.promote_types(cams.dtype, torch.float32)
    with torch.autocast(device_type=cams.device.type, enabled=False):
        maps = F.relu(cams.to(dtype))
        maps = maps / (maps.flatten(2).amax(dim=2)[:, :, None, None] + eps)
        hw = maps.shape[2] * maps.shape[3]
        return torch.einsum('nchw,ndhw->ncd', maps, feats.to(dtype)) / hw
