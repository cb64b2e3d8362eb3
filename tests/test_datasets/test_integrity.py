# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""File integrity checks: empty, truncated or foreign image files."""
import os.path as osp

import pytest

from mmseg_wsss.datasets import check_image_bytes


def test_check_image_bytes_formats(toy_voc):
    jpg = osp.join(toy_voc, 'JPEGImages', '2000_000001.jpg')
    png = osp.join(toy_voc, 'SegmentationClass', '2000_000001.png')
    for path in (jpg, png):
        with open(path, 'rb') as f:
            check_image_bytes(f.read(), path)
    with open(png, 'rb') as f:
        data = f.read()
    with pytest.raises(ValueError, match=r'x\.png is a truncated PNG'):
        check_image_bytes(data[:-20], 'x.png')
    with pytest.raises(ValueError, match=r'x\.jpg is neither a JPEG nor'):
        check_image_bytes(b'GIF89a....', 'x.jpg')
