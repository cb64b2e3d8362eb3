# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Picture grids drawn from hand-made predictions and real image files."""
import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

from mmseg_wsss.utils import VOC_CLASSES, voc_palette
from mmseg_wsss.visualization import (CAPTION_HEIGHT, draw_cam_grid,
                                      draw_prediction_grid, grey_map)
from mmseg_wsss.visualization.grids import captioned

# BGR of VOC's aeroplane (class 1) and bicycle (class 2)
AEROPLANE, BICYCLE = (0, 0, 128), (0, 128, 0)
WHITE = (255, 255, 255)


def _sample(tmp_path, name, size=(12, 20), gt=None, labels=(1, 0)):
    """A prediction of a grey image: CAM of class 1 ramps left to right,
    ``pred_sem_seg`` all class 1, optional GT mask file."""
    h, w = size
    img_path = tmp_path / f'{name}.jpg'
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(img_path)
    meta = dict(img_path=str(img_path), seg_map_path=None)
    if gt is not None:
        mask = Image.fromarray(np.full(size, gt, np.uint8))
        mask.putpalette(voc_palette())
        mask.save(tmp_path / f'{name}.png')
        meta['seg_map_path'] = str(tmp_path / f'{name}.png')
    sample = SegDataSample(metainfo=meta)
    cams = torch.zeros(3, h, w)
    cams[0] = 0.25  # the background threshold
    cams[1] = torch.linspace(0, 1, w).expand(h, w)
    sample.seg_logits = PixelData(data=cams)
    sample.pred_sem_seg = PixelData(data=torch.ones(1, h, w, dtype=torch.long))
    sample.set_data(dict(img_labels=torch.tensor(labels, dtype=torch.float)))
    return sample


def _colours(cell):
    return {tuple(c) for c in np.unique(cell.reshape(-1, 3), axis=0)}


def test_cam_grid_columns(tmp_path):
    samples = [_sample(tmp_path, 'a', gt=2), _sample(tmp_path, 'b')]
    out = str(tmp_path / 'grid.png')
    cell = 32
    grid = draw_cam_grid(samples, out, VOC_CLASSES, max_classes=2, cell=cell)
    # image, 2 CAM columns, GT, thresholded CAMs
    row = cell + CAPTION_HEIGHT
    assert grid.shape == (2 * row, 5 * cell, 3)
    np.testing.assert_array_equal(mmcv.imread(out), grid)

    def cell_of(r, c):
        return grid[r * row + CAPTION_HEIGHT:(r + 1) * row,
                    c * cell:(c + 1) * cell]

    # one class: its heat map, then a blank cell
    assert len(_colours(cell_of(0, 1))) > 10
    assert _colours(cell_of(0, 2)) == {WHITE}
    assert _colours(cell_of(0, 3)) == {BICYCLE, WHITE}
    # no mask: a blank GT cell
    assert _colours(cell_of(1, 3)) == {WHITE}
    assert _colours(cell_of(0, 4)) == {AEROPLANE, WHITE}


def test_cam_grid_pseudo_labels(tmp_path):
    pseudo = tmp_path / 'pseudo'
    pseudo.mkdir()
    sample = _sample(tmp_path, 'a')
    label = Image.fromarray(np.full((12, 20), 2, np.uint8))
    label.putpalette(voc_palette())
    label.save(pseudo / 'a.png')
    grid = draw_cam_grid([sample],
                         str(tmp_path / 'g.png'),
                         VOC_CLASSES,
                         pseudo_dir=str(pseudo),
                         max_classes=1,
                         cell=24)
    assert _colours(grid[CAPTION_HEIGHT:, 3 * 24:]) == {BICYCLE, WHITE}
    with pytest.raises(FileNotFoundError, match='for image b'):
        draw_cam_grid([_sample(tmp_path, 'b')],
                      str(tmp_path / 'g.png'),
                      VOC_CLASSES,
                      pseudo_dir=str(pseudo))


def test_prediction_grid_uses_the_packed_mask(tmp_path):
    sample = _sample(tmp_path, 'a', gt=1)
    # a packed mask wins over the file
    sample.gt_sem_seg = PixelData(
        data=torch.full((1, 12, 20), 2, dtype=torch.long))
    grid = draw_prediction_grid([sample], str(tmp_path / 'p.png'), cell=24)
    assert grid.shape == (24 + CAPTION_HEIGHT, 3 * 24, 3)
    assert _colours(grid[CAPTION_HEIGHT:, 24:48]) == {BICYCLE, WHITE}
    assert _colours(grid[CAPTION_HEIGHT:, 48:]) == {AEROPLANE, WHITE}


def _irn_sample(sample, boundary, refined=2):
    """An IRN prediction of ``sample``'s image: the given boundary map
    (H, W), a refined mask all ``refined``."""
    irn = SegDataSample(metainfo=dict(img_path=sample.img_path))
    h, w = boundary.shape
    irn.boundary_map = PixelData(data=boundary[None])
    irn.pred_sem_seg = PixelData(
        data=torch.full((1, h, w), refined, dtype=torch.long))
    return irn


def test_cam_grid_irn_columns(tmp_path):
    samples = [_sample(tmp_path, 'a', gt=1), _sample(tmp_path, 'b')]
    # boundaries: none on the left half, 0.5 on the right half
    boundary = torch.zeros(12, 20)
    boundary[:, 10:] = 0.5
    irn_samples = [_irn_sample(s, boundary) for s in samples]
    cell = 32
    grid = draw_cam_grid(
        samples,
        str(tmp_path / 'g.png'),
        VOC_CLASSES,
        max_classes=1,
        cell=cell,
        irn_samples=irn_samples)
    # image, 1 CAM column, GT, thresholded CAMs, boundary, refined
    row = cell + CAPTION_HEIGHT
    assert grid.shape == (2 * row, 6 * cell, 3)
    boundary_cell = grid[CAPTION_HEIGHT:row, 4 * cell:5 * cell]
    # the 20 x 12 map fills 28 x 17 pixels at rows 8-24, columns 2-29
    np.testing.assert_array_equal(boundary_cell[16, 4], (0, 0, 0))
    np.testing.assert_array_equal(boundary_cell[16, 27], (128, 128, 128))
    assert _colours(boundary_cell[:, :14]) == {(0, 0, 0), WHITE}
    assert _colours(grid[CAPTION_HEIGHT:row, 5 * cell:]) == {BICYCLE, WHITE}
    for col, text in ((4, 'boundary'), (5, 'refined')):
        np.testing.assert_array_equal(
            grid[:CAPTION_HEIGHT, col * cell:(col + 1) * cell],
            captioned(np.zeros((0, cell, 3), np.uint8), text))


def test_cam_grid_irn_rows_must_match(tmp_path):
    samples = [_sample(tmp_path, 'a'), _sample(tmp_path, 'b')]
    irn_samples = [_irn_sample(s, torch.zeros(12, 20)) for s in samples]
    with pytest.raises(ValueError, match='not of the images'):
        draw_cam_grid(
            samples,
            str(tmp_path / 'g.png'),
            VOC_CLASSES,
            irn_samples=irn_samples[::-1])
    with pytest.raises(ValueError, match='not of the images'):
        draw_cam_grid(
            samples,
            str(tmp_path / 'g.png'),
            VOC_CLASSES,
            irn_samples=irn_samples[:1])


def test_grey_map():
    grey = grey_map(np.array([[0.0, 0.5], [1.0, 2.0]]))
    assert grey.shape == (2, 2, 3) and grey.dtype == np.uint8
    np.testing.assert_array_equal(grey[..., 0], [[0, 128], [255, 255]])
    assert (grey == grey[..., :1]).all()
