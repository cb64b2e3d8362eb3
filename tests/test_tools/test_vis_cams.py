# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The CAM picture grid of tools/vis_cams.py."""
import os

import mmcv
import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.visualization import CAPTION_HEIGHT


def test_grid_size_and_columns(toy_cam_checkpoint, load_tool, tmp_path):
    tool = load_tool('vis_cams')
    out = str(tmp_path / 'grid.png')
    cell, rows, max_classes = 64, 3, 2
    tool.main([
        *toy_cam_checkpoint, '--out', out, '--num',
        str(rows), '--cell',
        str(cell), '--max-classes',
        str(max_classes)
    ])
    grid = mmcv.imread(out)
    # columns: image, max_classes CAMs, GT, thresholded CAM
    row_height = cell + CAPTION_HEIGHT
    assert grid.shape == (rows * row_height, (max_classes + 3) * cell, 3)
    # the first image's GT cell holds VOC colours, not a blank cell
    gt_cell = grid[CAPTION_HEIGHT:row_height,
                   (max_classes + 1) * cell:(max_classes + 2) * cell]
    assert (gt_cell != 255).any()


def test_pseudo_dir_column(toy_cam_checkpoint, toy_voc, load_tool, tmp_path):
    tool = load_tool('vis_cams')
    with open(os.path.join(toy_voc, 'ImageSets', 'Segmentation',
                           'train.txt')) as f:
        first, second = f.read().split()[:2]
    with Image.open(os.path.join(toy_voc, 'JPEGImages',
                                 first + '.jpg')) as img:
        width, height = img.size
    # a pseudo label of the first image only, all 'aeroplane' (VOC colour
    # (128, 0, 0))
    pseudo_dir = tmp_path / 'pseudo'
    pseudo_dir.mkdir()
    label = Image.fromarray(np.ones((height, width), dtype=np.uint8))
    label.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    label.save(pseudo_dir / (first + '.png'))
    out = str(tmp_path / 'grid.png')
    grid = tool.main([
        *toy_cam_checkpoint, '--out', out, '--num', '1', '--cell', '48',
        '--max-classes', '1', '--pseudo-dir',
        str(pseudo_dir)
    ])
    last = grid[CAPTION_HEIGHT:, 3 * 48:].reshape(-1, 3)
    # BGR of aeroplane appears, and nothing but it and the white margin
    colours = {tuple(c) for c in np.unique(last, axis=0)}
    assert colours == {(0, 0, 128), (255, 255, 255)}

    with pytest.raises(FileNotFoundError, match=second):
        tool.main([
            *toy_cam_checkpoint, '--out', out, '--num', '2', '--pseudo-dir',
            str(pseudo_dir)
        ])
