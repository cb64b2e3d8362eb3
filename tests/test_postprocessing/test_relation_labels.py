# Copyright (c) mmseg-wsss contributors. All rights reserved.
import numpy as np
import pytest

from mmseg_wsss.postprocessing import crf_label_map, relation_labels


def _three_bands():
    """A 20 x 24 image of three vertical bands (red, grey, blue) and one
    CAM that is sure on the left (1.0), unsure in the middle (0.15) and
    off on the right (0.0)."""
    img = np.zeros((20, 24, 3), np.uint8)
    img[:, :8] = (200, 30, 30)
    img[:, 8:16] = (120, 120, 120)
    img[:, 16:] = (30, 30, 200)
    cam = np.zeros((1, 20, 24), np.float32)
    cam[0, :, :8] = 1.0
    cam[0, :, 8:16] = 0.15
    return img, cam


def test_relation_labels_confident_fg_bg_and_unknown_margin():
    img, cam = _three_bands()
    labels = relation_labels(img, cam, classes=[7])
    assert labels.dtype == np.uint8 and labels.shape == (20, 24)
    # 1.0 >= 0.30: the class; 0.15 lies between the thresholds: unknown;
    # 0.0 <= 0.05: background (a CRF may move band edges by a pixel)
    assert (labels[:, :6] == 7).all()
    assert (labels[:, 10:14] == 255).all()
    assert (labels[:, 18:] == 0).all()
    assert set(np.unique(labels).tolist()) == {0, 7, 255}


def test_relation_labels_accept_a_read_only_image():
    img, cam = _three_bands()
    img.flags.writeable = False  # as np.asarray of a PIL image
    labels = relation_labels(img, cam, classes=[7])
    assert (labels[:, :6] == 7).all()


def test_relation_labels_keep_the_mask_indices_of_two_classes():
    img, cam = _three_bands()
    # class 15 takes the right band
    cams = np.concatenate([cam, np.zeros_like(cam)])
    cams[1, :, 16:] = 0.9
    labels = relation_labels(img, cams, classes=[3, 15])
    assert (labels[:, :6] == 3).all()
    assert (labels[:, 18:] == 15).all()
    assert (labels[:, 10:14] == 255).all()


def test_no_confident_pixel_gives_an_all_unknown_map():
    img, _ = _three_bands()
    unsure = np.full((1, 20, 24), 0.15, np.float32)
    labels = relation_labels(img, unsure, classes=[7])
    assert (labels == 255).all()


def test_no_class_is_all_background():
    img, _ = _three_bands()
    labels = relation_labels(img, np.zeros((0, 20, 24)), classes=[])
    assert (labels == 0).all()


def test_crf_label_map_keeps_a_clean_label_map():
    img, _ = _three_bands()
    labels = np.zeros((20, 24), np.int64)
    labels[:, 8:16] = 1
    labels[:, 16:] = 2
    assert np.array_equal(crf_label_map(img, labels, 3), labels)
    assert np.array_equal(
        crf_label_map(img, np.zeros((20, 24), np.int64), 1), np.zeros(
            (20, 24)))


def test_relation_labels_argument_checks():
    img, cam = _three_bands()
    with pytest.raises(ValueError, match='K classes'):
        relation_labels(img, cam, classes=[1, 2])
    with pytest.raises(ValueError, match='uint8 image'):
        relation_labels(img[:10], cam, classes=[1])
    with pytest.raises(ValueError, match='mask indices'):
        relation_labels(img, cam, classes=[0])
    with pytest.raises(ValueError, match='conf_bg_thr <= conf_fg_thr'):
        relation_labels(img, cam, [1], conf_fg_thr=0.1, conf_bg_thr=0.2)
    with pytest.raises(ValueError, match='gt_prob'):
        crf_label_map(img, np.zeros((20, 24), np.int64), 2, gt_prob=1.0)
