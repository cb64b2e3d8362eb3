# Copyright (c) mmseg-wsss contributors. All rights reserved.
import torch
from mmseg.structures import SegDataSample

from mmseg_wsss.models.utils import batch_classes, valid_pixels


def test_batch_classes_are_those_of_any_image():
    labels = torch.tensor([[0., 1., 0., 0.], [0., 1., 0., 1.]])
    assert torch.equal(batch_classes(labels), torch.tensor([1, 3]))
    # a batch without labels keeps every channel
    assert torch.equal(batch_classes(torch.zeros(2, 3)), torch.arange(3))


def test_valid_pixels_leave_out_the_right_and_bottom_padding():
    inputs = torch.zeros(3, 3, 6, 8)
    samples = [SegDataSample() for _ in range(3)]
    samples[0].set_metainfo(dict(padding_size=(0, 5, 0, 3)))
    samples[1].set_metainfo(dict(padding_size=(0, 0, 0, 0)))
    valid = valid_pixels(inputs, samples)
    assert valid.shape == (3, 6, 8) and valid.dtype == torch.bool
    assert valid[0].sum() == 3 * 3 and valid[0, :3, :3].all()
    assert valid[1].all() and valid[2].all()  # image 2: no padding_size
