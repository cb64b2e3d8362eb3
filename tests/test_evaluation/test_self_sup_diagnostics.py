# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.evaluation.self_sup_diagnostics import (
    foreground_counts, prototype_cosine_sums, prototype_source_counts,
    region_mask_counts, shares)

# one image, 2 x 4 pixels: background, class 1, class 2, one unlabelled
GT = torch.tensor([[[0, 0, 1, 1], [2, 2, 255, 0]]])


def test_foreground_recall_and_precision_by_hand():
    # fg score (max over classes) per pixel; bg_thr 0.5
    cams = torch.zeros(1, 2, 2, 4)
    cams[0, 0] = torch.tensor([[0.9, 0.1, 0.8, 0.2], [0.0, 0.0, 0.9, 0.0]])
    cams[0, 1] = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.7, 0.3, 0.0, 0.6]])
    counts = foreground_counts(cams, GT, bg_thr=0.5)
    # predicted fg among labelled: (0,0) bg, (0,2) c1, (1,0) c2, (1,3) bg,
    # each of the right class where it is fg; the unlabelled (1,2) does not
    # count
    assert counts == dict(
        cam_hit=2.0, cam_wrong_class=0.0, cam_gt_fg=4.0, cam_pred_fg=4.0)
    out = shares(counts)
    assert out['cam_fg_recall'] == pytest.approx(50.0)
    assert out['cam_fg_precision'] == pytest.approx(50.0)


def test_foreground_of_the_wrong_class_by_hand():
    cams = torch.zeros(1, 2, 2, 4)
    cams[0, 1, 0, 2] = 0.9  # a class-1 pixel whose class-2 map is larger
    cams[0, 0, 0, 2] = 0.6
    cams[0, 0, 1, 0] = 0.8  # a class-2 pixel seen as class 1
    cams[0, 1, 1, 1] = 0.8  # a class-2 pixel seen as class 2
    counts = foreground_counts(cams, GT, bg_thr=0.5)
    assert counts['cam_hit'] == 3.0
    assert counts['cam_wrong_class'] == 2.0
    assert shares(counts)['cam_fg_wrong_class'] == pytest.approx(50.0)


def test_region_mask_confusion_by_hand():
    mask = torch.tensor([[[0, 255, 1, 0], [1, 255, 2, 2]]])
    counts = region_mask_counts(mask, GT)
    assert counts == dict(
        mask_fg_correct=1.0,  # (0,2)
        mask_fg_as_bg=1.0,  # (0,3)
        mask_fg_wrong_class=1.0,  # (1,0): class 2 labelled 1
        mask_fg_ignored=1.0,  # (1,1)
        mask_gt_fg=4.0,
        mask_bg_correct=1.0,  # (0,0)
        mask_bg_as_fg=1.0,  # (1,3)
        mask_bg_ignored=1.0,  # (0,1)
        mask_gt_bg=3.0)
    out = shares(counts)
    assert out['mask_fg_correct'] == pytest.approx(25.0)
    assert out['mask_bg_as_fg'] == pytest.approx(100 / 3)


def test_prototype_sources_weighted_by_pixels():
    target = torch.tensor([[[0, 0, 1, 255]], [[2, 2, 2, 0]]])
    # image 0: bg from the batch, class 1 zero; image 1: class 2 memory only
    source = torch.tensor([[1, 0, 1], [1, 1, 2]])
    counts = prototype_source_counts(target, source)
    assert counts == dict(
        target_zero=1.0, target_batch=3.0, target_memory=3.0, target=7.0)
    assert shares(counts)['proto_memory_only'] == pytest.approx(300 / 7)


def test_prototype_cosines_skip_zero_prototypes():
    # D = 2; prototypes: bg (1, 0), class 1 (0, 1), class 2 absent (zero)
    protos = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
    s = 2**-0.5
    # pixels: (1, 0) target bg; (s, s) target 1; (0, 1) target bg; ignored
    feats = torch.tensor([[1.0, s, 0.0, 1.0], [0.0, s, 1.0, 0.0]])
    feats = feats.view(1, 2, 1, 4)
    target = torch.tensor([[[0, 1, 0, 255]]])
    counts = prototype_cosine_sums(feats, protos, target)
    assert counts['cos_own'] == pytest.approx(1.0 + s + 0.0)
    assert counts['cos_other'] == pytest.approx(0.0 + s + 1.0)
    assert counts['own_wins'] == 1.0  # only the first; a tie does not win
    assert counts['pixels'] == 3.0


def test_shares_without_pixels_are_left_out_not_nan():
    counts = region_mask_counts(
        torch.full((1, 2, 2), 255), torch.full((1, 2, 2), 255))
    assert shares(counts) == {}


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match='one shape'):
        region_mask_counts(torch.zeros(1, 2, 2), torch.zeros(1, 2, 3))
