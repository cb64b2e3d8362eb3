# Copyright (c) mmseg-wsss contributors. All rights reserved.
import numpy as np
import pytest

from mmseg_wsss.postprocessing import DenseCRF, pseudo_label


def test_prediction_then_band():
    cams = np.array([[[0.9, 0.31, 0.24]], [[0.0, 0.1, 0.6]]], np.float32)
    pred = np.array([[1, 1, 2]])
    # no band: the prediction as uint8
    label = pseudo_label(cams, pred, bg_thr=0.3)
    assert label.dtype == np.uint8
    np.testing.assert_array_equal(label, pred)
    # top scores 0.9, 0.31, 0.6; band [0.2, 0.4) takes the middle pixel
    np.testing.assert_array_equal(
        pseudo_label(cams, pred, bg_thr=0.3, ignore_band=0.1), [[1, 255, 2]])
    # the band is clipped to [0.4, 1): a CAM maximum of 1 keeps its class
    cams[0, 0, 0] = 1.0
    np.testing.assert_array_equal(
        pseudo_label(cams, pred, bg_thr=0.9, ignore_band=0.5), [[1, 1, 255]])


def test_crf_needs_the_image_of_the_cams():
    cams = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(
            ValueError,
            match=r'im\.jpg: the CRF needs the RGB '
            r'image of shape \(3, 4\) \+ \(3,\), got None'):
        pseudo_label(cams, np.zeros((3, 4)), 0.3, DenseCRF(), name='im.jpg')
    with pytest.raises(ValueError, match=r'got \(4, 3, 3\)'):
        pseudo_label(cams, np.zeros((3, 4)), 0.3, DenseCRF(),
                     np.zeros((4, 3, 3), np.uint8))
