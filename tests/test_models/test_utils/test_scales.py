# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch

from mmseg_wsss.models.utils import check_scales, rescale_images


@pytest.mark.parametrize('scales', [(1.0, ), [0.5, 1.0, 2], (0.75, )])
def test_check_scales_accepts_positive_numbers(scales):
    check_scales('key', scales)


@pytest.mark.parametrize('scales, with_one, match', [
    ((), False, r'key must be a non-empty list'),
    (1.0, False, r'key must be a non-empty list'),
    ((1.0, float('nan')), False, 'positive scales'),
    ((1.0, True), False, 'positive scales'),
    ((0.5, 2.0), True, r'key must hold positive scales including 1.0'),
])
def test_check_scales_names_the_key(scales, with_one, match):
    with pytest.raises(ValueError, match=match):
        check_scales('key', scales, with_one=with_one)


def test_rescale_images_rounds_and_keeps_one_pixel():
    images = torch.rand(2, 3, 10, 7)
    assert rescale_images(images, 1.0) is images
    assert rescale_images(images, 0.5).shape == (2, 3, 5, 4)
    assert rescale_images(images, 0.01).shape == (2, 3, 1, 1)
    flat = torch.ones(1, 3, 4, 4)
    torch.testing.assert_close(
        rescale_images(flat, 2.0), torch.ones(1, 3, 8, 8))
