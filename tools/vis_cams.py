# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Draw a picture grid of CAMs: one row per image.

Columns: the image; the CAM heat map of each present class over the image
(up to ``--max-classes``, captioned with the class name); the ground-truth
mask in the VOC palette; the pseudo label from ``--pseudo-dir``, or else the
thresholded CAM (``pred_sem_seg``). Example::

    python tools/vis_cams.py configs/wsss/rcm_mam_r50_voc.py \
        work_dirs/rcm_mam_r50_voc/iter_52920.pth --out cams.png --num 6
"""
import argparse
import os.path as osp

import cv2
import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.device import get_device

from mmseg_wsss.apis import (build_infer_dataset, init_cam_model,
                             predict_image, read_rgb, voc_palette)
from mmseg_wsss.apis.evaluate_masks import read_index_png

CAPTION_HEIGHT = 18
# white border around each picture, so that neighbours do not touch
CELL_MARGIN = 2
WHITE = (255, 255, 255)
# share of the heat map in a CAM overlay
HEAT_ALPHA = 0.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Picture grid of the CAMs of a few images')
    parser.add_argument('config', help='config file of the CAM network')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument(
        '--split', default='train', help='split to draw (default: train)')
    parser.add_argument(
        '--num', type=int, default=6, help='images (rows) (default: 6)')
    parser.add_argument(
        '--pseudo-dir',
        help='folder of pseudo-label PNGs for the last column (default: '
        'the CAMs thresholded at model.test_cfg.bg_thr)')
    parser.add_argument(
        '--gt-dir',
        default='SegmentationClass',
        help='ground-truth folder under the data root')
    parser.add_argument(
        '--max-classes',
        type=int,
        default=3,
        help='CAM columns; images with more classes show the first ones '
        '(default: 3)')
    parser.add_argument(
        '--cell', type=int, default=160, help='cell size in pixels')
    parser.add_argument(
        '--device', help='device (default: cuda if available, else cpu)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    for key in ('num', 'max_classes', 'cell'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    return args


def grid_size(rows: int, max_classes: int, cell: int) -> tuple:
    """(height, width) of a grid of ``rows`` rows."""
    return rows * (cell + CAPTION_HEIGHT), (max_classes + 3) * cell


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
    return np.concatenate([
        captioned(fit_cell(img, cell, interp), text)
        for img, text, interp in row
    ],
                          axis=1)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = init_cam_model(cfg, args.checkpoint, args.device or get_device())
    dataset = build_infer_dataset(cfg, args.split, seg_map_dir=args.gt_dir)
    classes = model.dataset_meta['classes']
    palette_bgr = np.asarray(
        voc_palette(dataset.metainfo.get('palette')),
        dtype=np.uint8).reshape(256, 3)[:, ::-1]

    rows = []
    for idx in range(min(args.num, len(dataset))):
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
        if args.pseudo_dir is None:
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            text = f'CAM > {model.test_cfg.bg_thr:g}'
        else:
            pseudo_path = osp.join(args.pseudo_dir, name + '.png')
            if not osp.isfile(pseudo_path):
                raise FileNotFoundError(
                    f'no pseudo label {pseudo_path} for image {name}')
            pred, text = read_index_png(pseudo_path), 'pseudo label'
        cells.append((colour_mask(pred, palette_bgr), text, 'nearest'))
        rows.append(draw_row(cells, args.max_classes, args.cell))
    grid = np.concatenate(rows)
    mmcv.imwrite(grid, args.out)
    print(f'{len(rows)} images drawn to {args.out} '
          f'({grid.shape[1]} x {grid.shape[0]} px)')
    return grid


if __name__ == '__main__':
    main()
