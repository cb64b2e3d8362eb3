# Copyright (c) mmseg-wsss contributors. All rights reserved.
import importlib
import importlib.util
import sys

import numpy as np
import pytest
import torch

from mmseg_wsss.postprocessing import (DenseCRF, bg_alpha_from_thr,
                                       crf_refine_cams, dense_crf)

H, W = 40, 48


def _gaussian_blur(mask, sigma):
    """Separable Gaussian blur of a 2-D map (zero padding)."""
    x = np.arange(-3 * sigma, 3 * sigma + 1)
    kernel = np.exp(-x**2 / (2 * sigma**2))
    kernel /= kernel.sum()
    for axis in (0, 1):
        mask = np.apply_along_axis(np.convolve, axis, mask, kernel, 'same')
    return mask


def _edge_scene():
    """A red square on blue (sharp edges, little noise) and a blurred CAM.

    Returns the image (H, W, 3), the ground truth (H, W) with the square as
    class 2, and CAMs (3, H, W) where classes 1 and 3 are absent.
    """
    rng = np.random.default_rng(0)
    gt = np.zeros((H, W), np.int64)
    gt[10:30, 14:34] = 2
    img = np.where(gt[..., None] == 2, [200, 60, 50], [40, 110, 190])
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    # the blur spreads the CAM about 4 px past the edge at threshold 0.15
    cam = _gaussian_blur((gt == 2).astype(np.float64), 4)
    cams = np.zeros((3, H, W), np.float32)
    cams[1] = cam / cam.max()
    return img, gt, cams


def test_crf_sharpens_a_blurred_cam_at_an_edge():
    img, gt, cams = _edge_scene()
    bg = np.full((1, H, W), 0.15, np.float32)
    cam_pred = np.concatenate([bg, cams]).argmax(axis=0)
    refined = crf_refine_cams(img, cams, bg_thr=0.15)
    crf_pred = refined.argmax(axis=0)

    def iou(pred):
        return ((pred == 2) & (gt == 2)).sum() / ((pred == 2) |
                                                  (gt == 2)).sum()

    # pixels within 3 px (Chebyshev) of the square's edge
    band = np.zeros((H, W), bool)
    band[7:33, 11:37] = True
    band[13:27, 17:31] = False
    cam_boundary_acc = (cam_pred == gt)[band].mean()
    crf_boundary_acc = (crf_pred == gt)[band].mean()
    assert iou(crf_pred) > iou(cam_pred) + 0.2
    assert crf_boundary_acc > cam_boundary_acc + 0.2
    assert iou(crf_pred) > 0.9


def test_crf_shapes_dtypes_and_absent_classes():
    img, _, cams = _edge_scene()
    refined = crf_refine_cams(img, cams, iters=2)
    assert refined.shape == (4, H, W)
    assert refined.dtype == np.float32
    # classes 1 and 3 have all-zero maps: they never enter the CRF
    assert not refined[[1, 3]].any()
    assert refined[[0, 2]].sum(axis=0) == pytest.approx(1, abs=1e-5)

    probs = dense_crf(img, np.random.rand(5, H, W), iters=1)
    assert probs.shape == (5, H, W)
    assert probs.dtype == np.float32
    assert probs.sum(axis=0) == pytest.approx(1, abs=1e-5)

    # no class present: everything is background
    refined = crf_refine_cams(img, np.zeros((2, H, W), np.float32), iters=1)
    assert refined[0] == pytest.approx(1)
    assert not refined[1:].any()


def test_crf_bad_shapes():
    img, _, cams = _edge_scene()
    with pytest.raises(ValueError, match='img must be uint8'):
        dense_crf(img[:-1], cams)
    with pytest.raises(ValueError, match='img must be uint8'):
        dense_crf(img.astype(np.float32), cams)
    with pytest.raises(ValueError, match=r'probs must be \(K, H, W\)'):
        dense_crf(img, cams[0])


def test_bg_alpha_from_thr_by_hand():
    # ln(0.5) / ln(0.5) = 1
    assert bg_alpha_from_thr(0.5) == pytest.approx(1)
    # ln(0.15) / ln(0.85) = -1.897120 / -0.162519 = 11.6732
    assert bg_alpha_from_thr(0.15) == pytest.approx(11.6732, abs=1e-4)
    # ln(0.25) / ln(0.75) = -1.386294 / -0.287682 = 4.8188
    assert bg_alpha_from_thr(0.25) == pytest.approx(4.8188, abs=1e-4)
    assert 0.85**bg_alpha_from_thr(0.15) == pytest.approx(0.15)
    with pytest.raises(ValueError, match='bg_thr must be in'):
        bg_alpha_from_thr(1.0)


def test_crf_refine_cams_background_score_by_hand():
    # with 0 mean-field iterations the CRF returns its unary normalised:
    # probs / sum(probs), with probs clipped at 1e-5
    img = np.zeros((2, 3, 3), np.uint8)
    cams = np.zeros((3, 2, 3), np.float32)
    cams[1] = [[0.5, 0.15, 0.0], [1.0, 0.2, 0.9]]
    refined = crf_refine_cams(img, cams, alpha=2, iters=0)
    # pixel (0, 0): cam 0.5, background (1 - 0.5) ** 2 = 0.25, so
    # [0.25, 0.5] / 0.75 = [1/3, 2/3]
    assert refined[[0, 2], 0, 0] == pytest.approx([1 / 3, 2 / 3])
    # pixel (0, 1): cam 0.15, background 0.85 ** 2 = 0.7225, so
    # 0.15 / (0.15 + 0.7225) = 0.171920
    assert refined[2, 0, 1] == pytest.approx(0.171920, abs=1e-5)
    assert not refined[[1, 3]].any()
    # alpha from bg_thr=0.15: a cam of exactly 0.15 ties with background
    refined = crf_refine_cams(img, cams, bg_thr=0.15, iters=0)
    assert refined[[0, 2], 0, 1] == pytest.approx([0.5, 0.5], abs=1e-5)
    # cam 0.2 > 0.15: the class wins; cam 0 -> background
    assert refined[2, 1, 1] > refined[0, 1, 1]
    assert refined[0, 0, 2] > refined[2, 0, 2]


def test_dense_crf_callable():
    img, _, cams = _edge_scene()
    crf = DenseCRF(iters=3, bg_thr=0.2)
    assert crf.params == dict(
        iters=3,
        gauss_sxy=3,
        gauss_compat=3,
        bi_sxy=80,
        bi_srgb=13,
        bi_compat=10,
        alpha=None,
        bg_thr=0.2)
    expected = crf_refine_cams(img, cams, iters=3, bg_thr=0.2)
    np.testing.assert_array_equal(crf(img, cams), expected)
    out = crf(torch.from_numpy(img), torch.from_numpy(cams))
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), expected)
    assert 'bg_thr=0.2' in repr(crf)
    with pytest.raises(KeyError, match=r"DenseCRF: unknown keys \['sxy'\]"):
        DenseCRF(sxy=3)


def test_missing_pydensecrf(monkeypatch):
    img, _, cams = _edge_scene()
    monkeypatch.setitem(sys.modules, 'pydensecrf.densecrf', None)
    # importing the module does not need pydensecrf; using it does. A fresh
    # copy is executed, not a reload: a reload would replace the classes of
    # the imported module, which every later test in this process (e.g. one
    # that pickles a DenseCRF for a writer process) then no longer finds.
    spec = importlib.util.find_spec('mmseg_wsss.postprocessing.dense_crf')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    crf = module.DenseCRF()
    with pytest.raises(ImportError, match='pip install pydensecrf2'):
        crf(img, cams)
    with pytest.raises(ImportError, match='pip install pydensecrf2'):
        dense_crf(img, cams)
