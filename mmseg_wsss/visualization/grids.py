# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Picture grids: CAMs of a CAM network, predictions of a segmentor.

Rows are images; cells are captioned and fitted to squares, so images of any
size line up. Drawn with mmcv/cv2 in BGR and written with ``mmcv.imwrite``.
"""
import os.path as osp
from typing import Optional

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from torch import nn

from mmseg_wsss.apis import (build_infer_dataset, predict_image, read_rgb,
                             voc_palette)
from mmseg_wsss.apis.evaluate_masks import read_index_png

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


def draw_row(cells: list, max_classes: int, cell: int) -> np.ndarray:
    """One grid row from (image, caption, interpolation) cells.

    ``cells`` is the image, up to ``max_classes`` CAMs, the GT and the last
    column; missing CAM columns stay blank so that the columns line up.
    """
    image, cams, gt, last = cells[0], cells[1:-2], cells[-2], cells[-1]
    blank = (np.full((1, 1, 3), WHITE, dtype=np.uint8), '', 'nearest')
    row = [image, *cams[:max_classes]]
    row += [blank] * (max_classes + 1 - len(row)) + [gt, last]
    drawn = [
        captioned(fit_cell(img, cell, interp), text)
        for img, text, interp in row
    ]
    return np.concatenate(drawn, axis=1)


def draw_cam_grid(model: nn.Module,
                  cfg: Config,
                  out_file: str,
                  split: str = 'train',
                  num: int = 6,
                  pseudo_dir: Optional[str] = None,
                  gt_dir: str = 'SegmentationClass',
                  max_classes: int = 3,
                  cell: int = 160) -> np.ndarray:
    """Draw the CAM grid of the first ``num`` images of a split.

    Args:
        model (nn.Module): CAM segmentor in eval mode.
        cfg (Config): Its config (dataset and ``infer_pipeline``).
        out_file (str): Output PNG.
        split (str): Split to draw. Defaults to 'train'.
        num (int): Rows. Defaults to 6.
        pseudo_dir (str, optional): Pseudo labels for the last column.
            Defaults to None (the thresholded CAMs).
        gt_dir (str): Ground-truth folder under the data root.
            Defaults to 'SegmentationClass'.
        max_classes (int): CAM columns. Defaults to 3.
        cell (int): Cell size in pixels. Defaults to 160.

    Returns:
        np.ndarray: The BGR grid, shape
        ``(rows * (cell + CAPTION_HEIGHT), (max_classes + 3) * cell, 3)``.
    """
    dataset = build_infer_dataset(cfg, split, seg_map_dir=gt_dir)
    classes = model.dataset_meta['classes']
    palette_bgr = np.asarray(
        voc_palette(dataset.metainfo.get('palette')),
        dtype=np.uint8).reshape(256, 3)[:, ::-1]

    rows = []
    for idx in range(min(num, len(dataset))):
        sample = predict_image(model, dataset[idx])
        name = osp.splitext(osp.basename(sample.img_path))[0]
        img = np.ascontiguousarray(
            read_rgb(sample.img_path, dataset.backend_args)[..., ::-1])
        cams = sample.seg_logits.data[1:].float().cpu().numpy()
        present = np.flatnonzero(sample.img_labels.cpu().numpy() > 0)
        cells = [(img, name, 'bilinear')]
        cells += [(cam_overlay(img, cams[c]), classes[c + 1], 'bilinear')
                  for c in present]
        seg_map_path = dataset.get_data_info(idx)['seg_map_path']
        if seg_map_path is None:
            cells.append((np.full_like(img, 255), 'no GT', 'nearest'))
        else:
            gt = read_index_png(seg_map_path)
            cells.append((colour_mask(gt, palette_bgr), 'GT', 'nearest'))
        if pseudo_dir is None:
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            text = f'CAM > {model.test_cfg.bg_thr:g}'
        else:
            pseudo_path = osp.join(pseudo_dir, name + '.png')
            if not osp.isfile(pseudo_path):
                raise FileNotFoundError(
                    f'no pseudo label {pseudo_path} for image {name}')
            pred, text = read_index_png(pseudo_path), 'pseudo label'
        cells.append((colour_mask(pred, palette_bgr), text, 'nearest'))
        rows.append(draw_row(cells, max_classes, cell))
    grid = np.concatenate(rows)
    mmcv.imwrite(grid, out_file)
    return grid


def draw_prediction_grid(cfg: Config,
                         checkpoint: str,
                         out_file: str,
                         num: int = 4,
                         cell: int = 160) -> np.ndarray:
    """Image, ground truth and prediction of a segmentor on its test split.

    Args:
        cfg (Config): Segmentor config (any mmseg model); its
            ``test_dataloader`` gives the images and masks.
        checkpoint (str): Checkpoint file.
        out_file (str): Output PNG.
        num (int): Rows (the first images of the split). Defaults to 4.
        cell (int): Cell size in pixels. Defaults to 160.

    Returns:
        np.ndarray: The BGR grid, shape ``(rows * (cell + CAPTION_HEIGHT),
        3 * cell, 3)``.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmseg.registry import DATASETS, MODELS

    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.model.copy()
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.eval()
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg.pop('indices', None)
    pipeline = Compose(ds_cfg.pop('pipeline'))
    dataset = DATASETS.build(dict(ds_cfg, pipeline=[], lazy_init=False))
    palette_bgr = np.asarray(
        voc_palette(dataset.metainfo.get('palette')),
        dtype=np.uint8).reshape(256, 3)[:, ::-1]
    rows = []
    for idx in range(min(num, len(dataset))):
        info = dataset.get_data_info(idx)
        data = pipeline(dict(info))
        batch = dict(
            inputs=[data['inputs']], data_samples=[data['data_samples']])
        with torch.no_grad():
            sample = model.test_step(batch)[0]
        name = osp.splitext(osp.basename(info['img_path']))[0]
        img = np.ascontiguousarray(read_rgb(info['img_path'])[..., ::-1])
        pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        cells = [(img, name, 'bilinear')]
        if info.get('seg_map_path'):
            gt = read_index_png(info['seg_map_path'])
            cells.append((colour_mask(gt, palette_bgr), 'GT', 'nearest'))
        else:
            cells.append((np.full_like(img, 255), 'no GT', 'nearest'))
        cells.append((colour_mask(pred, palette_bgr), 'prediction', 'nearest'))
        rows.append(
            np.concatenate([
                captioned(fit_cell(im, cell, interp), text)
                for im, text, interp in cells
            ],
                           axis=1))
    grid = np.concatenate(rows)
    mmcv.imwrite(grid, out_file)
    return grid
