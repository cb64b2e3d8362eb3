# Copyright (c) mmseg-wsss contributors. All rights reserved.
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.datasets.transforms.random_crop_or_pad import \
    random_crop_or_pad_box


def _build(**kwargs):
    return TRANSFORMS.build(dict(type='RandomCropOrPad', **kwargs))


def _results(h, w):
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3) % 200 + 1
    seg = np.arange(h * w, dtype=np.uint8).reshape(h, w) % 20
    return dict(
        img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'], img_shape=(h, w))


def test_box_crops_long_sides_and_places_short_ones():
    np.random.seed(0)
    seen_src, seen_dst = set(), set()
    for _ in range(200):
        src, dst = random_crop_or_pad_box((3, 7), (5, 5))
        # rows: 3 fit in 5 (offset 0..2 in the canvas); columns: a window
        # of 5 out of 7 (offset 0..2 in the image)
        assert src[0] == 0 and dst[1] == 0 and src[2:] == dst[2:] == (3, 5)
        seen_dst.add(dst[0])
        seen_src.add(src[1])
    assert seen_dst == seen_src == {0, 1, 2}


def test_image_and_map_move_together_and_padding_is_filled():
    pipeline = _build(crop_size=(6, 4), pad_val=(1.5, 2.0, 3.0))
    np.random.seed(1)
    offsets = set()
    for _ in range(40):
        res = _results(3, 8)
        out = pipeline(dict(res))
        img, seg = out['img'], out['gt_seg_map']
        assert img.shape == (6, 4, 3) and seg.shape == (6, 4)
        assert out['img_shape'] == (6, 4)
        # a non-integer pad value: the image turns float32
        assert img.dtype == np.float32 and seg.dtype == np.uint8
        rows = np.flatnonzero((seg != 255).any(1))
        top, left = rows[0], None
        assert len(rows) == 3
        for x in range(5):
            if np.array_equal(seg[top:top + 3], res['gt_seg_map'][:, x:x + 4]):
                left = x
        assert left is not None
        np.testing.assert_array_equal(img[top:top + 3],
                                      res['img'][:, left:left + 4])
        pad = np.delete(img, np.s_[top:top + 3], axis=0)
        np.testing.assert_array_equal(pad,
                                      np.broadcast_to([1.5, 2, 3], pad.shape))
        offsets.add(top)
    assert offsets == {0, 1, 2, 3}


def test_integer_padding_keeps_the_dtype_and_bad_sizes_fail():
    out = _build(crop_size=4)(_results(2, 2))
    assert out['img'].dtype == np.uint8 and out['img'].shape == (4, 4, 3)
    assert (out['img'] == 0).sum() == 12 * 3
    with pytest.raises(ValueError, match='crop_size'):
        _build(crop_size=(0, 4))
