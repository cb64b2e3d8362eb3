# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Picture grids: CAMs of a CAM network (and an IRN's refinement of them),
predictions of a segmentor.

Rows are images, drawn from the predictions (``SegDataSample``) of one
image each; cells are captioned and fitted to squares, so images of any size
line up. Drawn with mmcv/cv2 in BGR and written with ``mmcv.imwrite``.
"""
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmseg.structures import SegDataSample

from mmseg_wsss.utils import read_index_png, read_rgb, voc_palette

CAPTION_HEIGHT = 18
# white border around each picture, so that neighbours do not touch
CELL_MARGIN = 2
WHITE = (255, 255, 255)
# share of the heat map in a CAM overlay
HEAT_ALPHA = 0.5


def fit_cell(img: np.ndarray, cell: int, interpolation: str) -> np.ndarray:
    """Resize ``img`` (H, W, 3) to fit a cell x cell square on white."""
    h, w = img.shape[:2]
    scale = (cell - 2 * CELL_MARGIN) / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = mmcv.imresize(img, size, interpolation=interpolation)
    out = np.full((cell, cell, 3), WHITE, dtype=np.uint8)
    top, left = (cell - size[1]) // 2, (cell - size[0]) // 2
    out[top:top + size[1], left:left + size[0]] = img
    return out


def captioned(cell_img: np.ndarray, text: str) -> np.ndarray:
    """Put a caption strip with ``text`` above a cell."""
    strip = np.full((CAPTION_HEIGHT, cell_img.shape[1], 3),
                    WHITE,
                    dtype=np.uint8)
    cv2.putText(strip, text, (3, CAPTION_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX,
                0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, cell_img])


def colour_mask(mask: np.ndarray, palette_bgr: np.ndarray) -> np.ndarray:
    """Index mask (H, W) -> BGR image (H, W, 3) in palette colours."""
    return palette_bgr[mask]


def cam_overlay(img_bgr: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """A normalised CAM (H, W) in [0, 1] as a JET heat map over the image."""
    heat = cv2.applyColorMap(
        np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET)
    return cv2.addWeighted(heat, HEAT_ALPHA, img_bgr, 1 - HEAT_ALPHA, 0)


def grey_map(values: np.ndarray) -> np.ndarray:
    """A map (H, W) in [0, 1] as a grey BGR image (H, W, 3): 0 black, 1
    white."""
    grey = np.uint8(np.rint(np.clip(values, 0, 1) * 255))
    return np.repeat(grey[..., None], 3, axis=-1)


def _palette_bgr(palette: Optional[Sequence[Sequence[int]]]) -> np.ndarray:
    """The (256, 3) BGR table of :func:`voc_palette`."""
    return np.asarray(
        voc_palette(palette), dtype=np.uint8).reshape(256, 3)[:, ::-1]


def _image_cells(sample: SegDataSample, palette_bgr: np.ndarray,
                 backend_args: Optional[dict]) -> tuple:
    """The image (BGR) and its name and GT cells of one prediction."""
    name = osp.splitext(osp.basename(sample.img_path))[0]
    img = np.ascontiguousarray(
        read_rgb(sample.img_path, backend_args)[..., ::-1])
    if 'gt_sem_seg' in sample:
        gt = sample.gt_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    elif sample.get('seg_map_path'):
        gt = read_index_png(sample.seg_map_path, backend_args)
    else:
        return img, (img, name, 'bilinear'), (np.full_like(img, 255), 'no GT',
                                              'nearest')
    return img, (img, name, 'bilinear'), (colour_mask(gt, palette_bgr), 'GT',
                                          'nearest')


def _draw(rows: List[list], cell: int, out_file: str) -> np.ndarray:
    """Captioned, fitted (image, caption, interpolation) cells -> grid."""
    grid = np.concatenate([
        np.concatenate([
            captioned(fit_cell(img, cell, interp), text)
            for img, text, interp in row
        ],
                       axis=1) for row in rows
    ])
    mmcv.imwrite(grid, out_file)
    return grid


def draw_cam_grid(
        samples: Sequence[SegDataSample],
        out_file: str,
        classes: Sequence[str],
        palette: Optional[Sequence[Sequence[int]]] = None,
        pseudo_dir: Optional[str] = None,
        max_classes: int = 3,
        cell: int = 160,
        backend_args: Optional[dict] = None,
        irn_samples: Optional[Sequence[SegDataSample]] = None) -> np.ndarray:
    """Draw a CAM grid: one row per prediction of a CAM network.

    Columns: the image; the CAM heat map of each class in ``img_labels``
    (up to ``max_classes``; missing ones blank, so columns line up); the
    ground truth (``gt_sem_seg`` or the mask at ``seg_map_path``); the
    pseudo label ``pseudo_dir/{image name}.png``, else ``pred_sem_seg``
    (captioned with the threshold, ``seg_logits[0]``). With
    ``irn_samples``, two more: the IRN's boundary map in grey (boundaries
    white), captioned 'boundary', and its refined mask, 'refined'.

    Args:
        samples (Sequence[SegDataSample]): Predictions with ``img_path``,
            ``img_labels``, ``seg_logits`` ``[bg_thr, CAMs]`` (C+1, H, W)
            and ``pred_sem_seg``.
        out_file (str): Output PNG.
        classes (Sequence[str]): Class names of the mask indices.
        palette (Sequence[Sequence[int]], optional): RGB colour of each
            class. Defaults to None, meaning VOC's.
        pseudo_dir (str, optional): Pseudo labels for the last column.
            Defaults to None (the thresholded CAMs).
        max_classes (int): CAM columns. Defaults to 3.
        cell (int): Cell size in pixels. Defaults to 160.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        irn_samples (Sequence[SegDataSample], optional): IRN predictions
            of the same images, in the same order, with ``boundary_map``
            (1, H, W) in [0, 1] and ``pred_sem_seg`` (1, H, W) (see
            ``IRNSegmentor.predict``). Defaults to None (no IRN columns).

    Returns:
        np.ndarray: The BGR grid, shape
        ``(rows * (cell + CAPTION_HEIGHT), (max_classes + 3) * cell, 3)``,
        with ``irn_samples`` ``(max_classes + 5) * cell`` wide.

    Raises:
        FileNotFoundError: ``pseudo_dir`` lacks an image's pseudo label.
        ValueError: ``irn_samples`` are not predictions of ``samples``'
            images.
    """
    if irn_samples is not None:
        _check_same_images(samples, irn_samples)
    palette_bgr = _palette_bgr(palette)
    blank = (np.full((1, 1, 3), WHITE, dtype=np.uint8), '', 'nearest')
    rows = []
    for i, sample in enumerate(samples):
        img, image_cell, gt_cell = _image_cells(sample, palette_bgr,
                                                backend_args)
        cams = sample.seg_logits.data.float().cpu().numpy()
        present = np.flatnonzero(sample.img_labels.cpu().numpy() > 0)
        cam_cells = [(cam_overlay(img,
                                  cams[c + 1]), classes[c + 1], 'bilinear')
                     for c in present[:max_classes]]
        if pseudo_dir is None:
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            text = f'CAM > {float(cams[0].flat[0]):g}'
        else:
            name = osp.splitext(osp.basename(sample.img_path))[0]
            pseudo_path = osp.join(pseudo_dir, name + '.png')
            if not osp.isfile(pseudo_path):
                raise FileNotFoundError(
                    f'no pseudo label {pseudo_path} for image {name}')
            pred, text = read_index_png(pseudo_path), 'pseudo label'
        blanks = [blank] * (max_classes - len(cam_cells))
        pred_cell = (colour_mask(pred, palette_bgr), text, 'nearest')
        row = [image_cell, *cam_cells, *blanks, gt_cell, pred_cell]
        if irn_samples is not None:
            row += _irn_cells(irn_samples[i], palette_bgr)
        rows.append(row)
    return _draw(rows, cell, out_file)


def _check_same_images(samples: Sequence[SegDataSample],
                       irn_samples: Sequence[SegDataSample]) -> None:
    """Raise ValueError unless both lists predict the same images."""
    paths = [s.img_path for s in samples]
    irn_paths = [s.img_path for s in irn_samples]
    if paths != irn_paths:
        raise ValueError('the IRN predictions are not of the images of the '
                         f'CAM rows: {irn_paths} against {paths}')


def _irn_cells(sample: SegDataSample, palette_bgr: np.ndarray) -> list:
    """The boundary and refined cells of one IRN prediction."""
    boundary = sample.boundary_map.data[0].float().cpu().numpy()
    refined = sample.pred_sem_seg.data[0].cpu().numpy()
    return [(grey_map(boundary), 'boundary', 'bilinear'),
            (colour_mask(refined, palette_bgr), 'refined', 'nearest')]


def draw_prediction_grid(samples: Sequence[SegDataSample],
                         out_file: str,
                         palette: Optional[Sequence[Sequence[int]]] = None,
                         cell: int = 160,
                         backend_args: Optional[dict] = None) -> np.ndarray:
    """Image, ground truth and prediction, one row per segmentor output.

    Args:
        samples (Sequence[SegDataSample]): Predictions with ``img_path``
            and ``pred_sem_seg``; the ground truth is ``gt_sem_seg`` or the
            mask at ``seg_map_path`` ('no GT' if neither).
        out_file (str): Output PNG.
        palette (Sequence[Sequence[int]], optional): RGB colour of each
            class. Defaults to None, meaning VOC's.
        cell (int): Cell size in pixels. Defaults to 160.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.

    Returns:
        np.ndarray: The BGR grid, shape ``(rows * (cell + CAPTION_HEIGHT),
        3 * cell, 3)``.
    """
    palette_bgr = _palette_bgr(palette)
    rows = []
    for sample in samples:
        _, image_cell, gt_cell = _image_cells(sample, palette_bgr,
                                              backend_args)
        pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        rows.append([
            image_cell, gt_cell,
            (colour_mask(pred, palette_bgr), 'prediction', 'nearest')
        ])
    return _draw(rows, cell, out_file)
