# Copyright (c) mmseg-wsss contributors. All rights reserved.
import importlib
import inspect
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

from mmseg_wsss.compat import has_compiled_mmcv_ops


@pytest.mark.skipif(
    has_compiled_mmcv_ops(), reason='full mmcv: no stand-in installed')
def test_mmcv_lite_point_sample_is_mmcvs():
    assert hasattr(importlib.import_module('mmseg.models'), 'EncoderDecoder')
    from mmcv.ops import point_sample
    assert osp.samefile(
        inspect.getsourcefile(point_sample),
        osp.join(osp.dirname(mmcv.__file__), 'ops', 'point_sample.py'))
    feats = torch.tensor([[[[0., 1.], [2., 3.]]]])
    points = torch.tensor([[[0.25, 0.25], [0.75, 0.25], [0.5, 0.5],
                            [0.5, 0.75]]])
    # (x, y) in [0, 1], align_corners=False: 0.25 and 0.75 are pixel
    # centres, so the first two are pixels (0, 0) = 0 and (0, 1) = 1;
    # (0.5, 0.5) averages all four, (0 + 1 + 2 + 3) / 4 = 1.5;
    # (0.5, 0.75) averages the bottom row, (2 + 3) / 2 = 2.5.
    assert point_sample(feats, points).tolist() == [[[0., 1., 1.5, 2.5]]]


@pytest.mark.skipif(
    has_compiled_mmcv_ops(), reason='full mmcv: no stand-in installed')
def test_mmcv_lite_compiled_op_names_full_mmcv():
    from mmcv.ops import CrissCrossAttention
    with pytest.raises(
            RuntimeError,
            match=r'mmcv\.ops\.CrissCrossAttention needs the compiled .* '
            r'install full mmcv'):
        CrissCrossAttention(8)


def test_adjust_hue_works_under_numpy2_for_negative_shifts():
    import mmcv

    from mmseg_wsss.compat import _adjust_hue
    img = np.zeros((2, 2, 3), np.uint8)
    img[..., 2] = 200  # pure red in BGR
    # hue is a rotation: -0.5 and +0.5 (shifts 129 and 127 of 256) turn
    # red into nearly the same cyan
    neg = mmcv.adjust_hue(img, -0.5)
    pos = mmcv.adjust_hue(img, 0.5)
    assert np.abs(neg.astype(int) - pos.astype(int)).max() <= 8
    assert neg[0, 0, 2] < 20 and neg[0, 0, :2].min() > 150  # red -> cyan
    assert np.array_equal(mmcv.adjust_hue(img, 0.0), img)
    assert mmcv.adjust_hue is _adjust_hue
