# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.models.utils import (cams_to_seg_logits, multiscale_cams,
                                     normalize_cams, region_mask)


def test_normalize_cams_by_hand():
    cams = torch.tensor([[[[2., -1.], [1., 0.]], [[3., 3.], [0., 6.]]]])
    labels = torch.tensor([[1., 0.]])
    out = normalize_cams(cams, labels, eps=1e-5)
    # class 0: relu -> [[2, 0], [1, 0]], max 2 (+ eps); class 1 absent -> 0
    expected = torch.tensor([[2., 0.], [1., 0.]]) / (2. + 1e-5)
    assert torch.allclose(out[0, 0], expected, rtol=0, atol=1e-7)
    assert torch.equal(out[0, 1], torch.zeros(2, 2))


def test_normalize_cams_all_zero_map_has_no_nan():
    out = normalize_cams(-torch.ones(1, 2, 3, 3), torch.ones(1, 2))
    assert torch.equal(out, torch.zeros(1, 2, 3, 3))


def test_region_mask_two_thresholds_and_ignore_band():
    # two classes, 1x4 pixels; max scores 0.1, 0.4, 0.5, 0.9
    cams = torch.tensor([[[[0.1, 0.4, 0.2, 0.9]], [[0.0, 0.1, 0.5, 0.3]]]])
    mask = region_mask(cams, bg_thr=0.3, fg_thr=0.5)
    # < 0.3 -> 0; [0.3, 0.5) -> 255; >= 0.5 -> argmax + 1
    assert mask.tolist() == [[[0, 255, 2, 1]]]
    single = region_mask(cams, bg_thr=0.45, fg_thr=0.45, ignore_index=7)
    assert single.tolist() == [[[0, 0, 2, 1]]]


def test_region_mask_rejects_unordered_thresholds():
    with pytest.raises(ValueError, match='bg_thr <= fg_thr'):
        region_mask(torch.zeros(1, 1, 2, 2), bg_thr=0.6, fg_thr=0.5)


def test_multiscale_cams_flip_and_scales():
    # A "network" that returns its input's first channel as a 1-class CAM.
    def cam_fn(x):
        return x[:, :1]

    x = torch.arange(8.).view(1, 1, 2, 4).repeat(1, 3, 1, 1) - 2
    # single scale, flip: relu(x) + flip(relu(flip(x))) = 2 * relu(x)
    out = multiscale_cams(cam_fn, x, scales=(1.0, ), flip=True)
    assert torch.allclose(out, 2 * x[:, :1].clamp(min=0))
    # scales 1 and 2 on a constant image add up exactly
    ones = torch.ones(2, 3, 4, 4)
    out = multiscale_cams(cam_fn, ones, scales=(1.0, 2.0), flip=False)
    assert out.shape == (2, 1, 4, 4)
    assert torch.allclose(out, torch.full_like(out, 2.))
    with pytest.raises(ValueError, match='at least one scale'):
        multiscale_cams(cam_fn, ones, scales=())


def test_cams_to_seg_logits_argmax_is_thresholded_segmentation():
    cams = torch.tensor([[[[0.1, 0.8]], [[0.3, 0.2]]]])
    logits = cams_to_seg_logits(cams, 0.25)
    assert logits.shape == (1, 3, 1, 2)
    assert logits.argmax(1).tolist() == [[[2, 1]]]
