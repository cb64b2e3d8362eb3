# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The CAM picture grid of tools/vis_cams.py."""
import os

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image
from toy_subsets import toy_names

from mmseg_wsss.utils import voc_palette
from mmseg_wsss.visualization import CAPTION_HEIGHT

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# BGR of the VOC class colours (background and 20 classes)
VOC_BGR = {tuple(c) for c in np.reshape(voc_palette(), (-1, 3))[:21, ::-1]}


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


IRN_CONFIG = os.path.join(REPO_ROOT, 'configs', 'irn',
                          'irn_r18-tiny_1xb8-300it_toyvoc-192x192.py')


@pytest.fixture(scope='module')
def random_irn(toy_voc, tmp_path_factory):
    """An untrained toy IRN's checkpoint, and CAM files of the first 2
    train images: their ground-truth masks as CAMs."""
    tmp_path = tmp_path_factory.mktemp('irn')
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(IRN_CONFIG).model)
    checkpoint = str(tmp_path / 'irn.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    cam_dir = tmp_path / 'cams'
    cam_dir.mkdir()
    for name in toy_names(toy_voc, 'train', 2):
        with Image.open(
                os.path.join(toy_voc, 'SegmentationClass',
                             name + '.png')) as png:
            mask = np.asarray(png)
        classes = [c for c in np.unique(mask) if 0 < c < 255]
        cams = np.stack([mask == c for c in classes]).astype(np.float32)
        # and at stride 4 (the walk's input): one pixel of each 4 x 4 block
        np.savez(
            cam_dir / (name + '.npz'),
            cams=cams,
            classes=np.array(classes, np.uint8),
            strided_cams=cams[:, ::4, ::4])
    return [
        '--irn-config', IRN_CONFIG, '--irn-checkpoint', checkpoint,
        '--cam-dir',
        str(cam_dir)
    ]


def test_irn_columns(toy_cam_checkpoint, random_irn, load_tool, tmp_path):
    tool = load_tool('vis_cams')
    cell, rows = 48, 2
    grid = tool.main([
        *toy_cam_checkpoint, '--out',
        str(tmp_path / 'grid.png'), '--num',
        str(rows), '--cell',
        str(cell), '--max-classes', '1', *random_irn
    ])
    # image, 1 CAM, GT, thresholded CAM, boundary, refined
    row_height = cell + CAPTION_HEIGHT
    assert grid.shape == (rows * row_height, 6 * cell, 3)
    for r in range(rows):
        cells = grid[r * row_height + CAPTION_HEIGHT:(r + 1) * row_height]
        boundary = cells[:, 4 * cell:5 * cell]
        # a grey map (B = G = R) of a boundary map in (0, 1)
        assert (boundary == boundary[..., :1]).all()
        assert (boundary != 255).any()
        # the refined mask in VOC colours
        refined = cells[:, 5 * cell:].reshape(-1, 3)
        assert (refined != 255).any()
        assert {tuple(c) for c in refined} <= VOC_BGR | {(255, 255, 255)}


@pytest.mark.parametrize('irn_args, message', [
    (['--irn-config', IRN_CONFIG], 'go together'),
    (['--irn-checkpoint', 'irn.pth'], 'go together'),
    (['--cam-dir', 'cams'], 'need --irn-config'),
])
def test_irn_arguments_go_together(load_tool, irn_args, message, capsys):
    tool = load_tool('vis_cams')
    with pytest.raises(SystemExit):
        tool.parse_args(['cam.py', 'cam.pth', '--out', 'g.png', *irn_args])
    assert message in capsys.readouterr().err
