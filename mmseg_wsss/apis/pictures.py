# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Picture grids of a split: predictions made here, drawn by
:mod:`mmseg_wsss.visualization`."""
import copy
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from torch import nn

from mmseg_wsss.visualization import draw_cam_grid, draw_prediction_grid
from .inference import build_infer_dataset, init_model, predict_image


def cam_grid(model: nn.Module,
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
        np.ndarray: The BGR grid, see :func:`draw_cam_grid`.
    """
    dataset = build_infer_dataset(cfg, split, seg_map_dir=gt_dir)
    samples = [
        predict_image(model, dataset[idx])
        for idx in range(min(num, len(dataset)))
    ]
    return draw_cam_grid(samples, out_file, model.dataset_meta['classes'],
                         dataset.metainfo.get('palette'), pseudo_dir,
                         max_classes, cell, dataset.backend_args)


def prediction_grid(cfg: Config,
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
        np.ndarray: The BGR grid, see :func:`draw_prediction_grid`.
    """
    model = init_model(cfg, checkpoint)
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    ds_cfg.pop('indices', None)
    dataset = DATASETS.build(ds_cfg)
    with torch.no_grad():
        samples = [
            model.test_step(pseudo_collate([dataset[idx]]))[0]
            for idx in range(min(num, len(dataset)))
        ]
    return draw_prediction_grid(samples, out_file,
                                dataset.metainfo.get('palette'), cell,
                                dataset.backend_args)
