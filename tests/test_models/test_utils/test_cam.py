# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.models.utils import (cams_to_seg_logits, multiscale_cams,
                                     normalize_cams, region_mask, scale_cams,
                                     strided_size, sum_resized)


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


def test_strided_size_by_hand():
    # one cell per started block of 4 pixels: VOC's 500 x 375 -> 125 x 94
    assert strided_size((500, 375)) == (125, 94)
    assert strided_size((1, 4)) == (1, 1)
    assert strided_size((5, 8)) == (2, 2)
    assert strided_size((3, 17), stride=16) == (1, 2)
    with pytest.raises(ValueError, match='stride'):
        strided_size((4, 4), stride=0)


def test_walk_input_by_hand():
    # an 8 x 8 image has a 2 x 2 grid at stride 4; its scales' maps are
    # 2 x 2 (left as they are) and 1 x 1 (spread over the grid): summed
    # [[1, 2], [3, 4]] + 2 = [[3, 4], [5, 6]], then divided by 6 + 1e-5
    maps = [
        torch.tensor([[[[1., 2.], [3., 4.]], [[1., 1.], [1., 1.]]]]),
        torch.tensor([[[[2.]], [[0.]]]])
    ]
    summed = sum_resized(maps, strided_size((8, 8)))
    assert summed[0, 0].tolist() == [[3., 4.], [5., 6.]]
    walk_input = normalize_cams(summed, torch.tensor([[1., 0.]]))
    expected = torch.tensor([[3., 4.], [5., 6.]]) / (6 + 1e-5)
    assert torch.allclose(walk_input[0, 0], expected, rtol=0, atol=1e-7)
    assert walk_input[0, 1].abs().sum() == 0  # class absent


# IRN's step/make_cam.py (jiwoon-ahn/irn a2ece00, run on CPU outside this
# repository) on the maps of test_walk_input_equals_irns_make_cam: its
# ``cam`` of classes 0 and 2 (float32, printed to 8 digits).
IRN_STRIDED_CAM = [
    [[0.22314036, 0.35123944, 0.32231385, 0.30578494],
     [0.4586774, 0.5371897, 0.5743798, 0.632231],
     [0.6528922, 0.7024789, 0.95041263, 0.99999934]],
    [[0.5766417, 0.4233572, 0.7226269, 0.99999887],
     [0.39416015, 0.583941, 0.64233506, 0.5985395],
     [0.75182396, 0.5328461, 0.306569, 0.70802844]],
]
# the network's maps (flips added) of 3 classes at each scale's input
# width: 11 x 14 at scale 1.0, 6 x 7 at 0.5, 22 x 28 at 2.0
SCALE_MAPS = {
    14: [[[0., 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]],
         [[5., 5, 5, 5], [5, 5, 5, 5], [5, 5, 5, 5]],
         [[3., 0, 0, 1], [0, 2, 0, 0], [1, 0, 0, 4]]],
    7: [[[2., 0], [0, 2]], [[1., 1], [1, 1]], [[0., 6], [3, 0]]],
    28: [[[(i * 7 + j) % 5 for j in range(7)] for i in range(6 * c, 6 * c + 6)]
         for c in range(3)],
}


def test_walk_input_equals_irns_make_cam():

    def cam_fn(x):
        return torch.tensor(SCALE_MAPS[x.shape[-1]], dtype=torch.float32)[None]

    per_scale = scale_cams(cam_fn, torch.zeros(1, 3, 11, 14), (1.0, 0.5, 2.0))
    walk_input = normalize_cams(
        sum_resized(per_scale, strided_size((11, 14))),
        torch.tensor([[1., 0., 1.]]))
    assert walk_input.shape == (1, 3, 3, 4)
    assert torch.allclose(
        walk_input[0, [0, 2]],
        torch.tensor(IRN_STRIDED_CAM),
        rtol=0,
        atol=1e-6)


def test_cams_to_seg_logits_argmax_is_thresholded_segmentation():
    cams = torch.tensor([[[[0.1, 0.8]], [[0.3, 0.2]]]])
    logits = cams_to_seg_logits(cams, 0.25)
    assert logits.shape == (1, 3, 1, 2)
    assert logits.argmax(1).tolist() == [[[2, 1]]]
