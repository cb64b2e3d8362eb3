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

from mmseg_wsss.utils.config_paths import set_cam_dir
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
             cell: int = 160,
             irn: Optional[nn.Module] = None,
             cam_dir: Optional[str] = None) -> np.ndarray:
    """Draw the CAM grid of the first ``num`` images of a split.

    With an IRN, each row also gets its boundary map and refined mask: the
    same images go through the IRN config's ``infer_pipeline`` (which
    loads their exported CAMs) and ``irn.test_step``.

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
        irn (nn.Module, optional): ``IRNSegmentor`` from :func:`init_model`
            (its ``cfg`` has the ``infer_pipeline``). Defaults to None (no
            boundary and refined columns).
        cam_dir (str, optional): Folder of the CAM files the IRN refines.
            Defaults to None (the ``cam_dir`` of the IRN's
            ``infer_pipeline``).

    Returns:
        np.ndarray: The BGR grid, see :func:`draw_cam_grid`.

    Raises:
        ValueError: ``cam_dir`` without ``irn``, or the IRN's
            ``infer_pipeline`` has no ``LoadCAMFromFile`` for it.
        KeyError: The IRN's config has no ``infer_pipeline``.
    """
    if cam_dir is not None and irn is None:
        raise ValueError('cam_dir is the input of an IRN: pass irn too')
    dataset = build_infer_dataset(cfg, split, seg_map_dir=gt_dir)
    samples = [
        predict_image(model, dataset[idx])
        for idx in range(min(num, len(dataset)))
    ]
    irn_samples = None
    if irn is not None:
        irn_samples = _refine(irn, cfg, split, len(samples), cam_dir)
    return draw_cam_grid(samples, out_file, model.dataset_meta['classes'],
                         dataset.metainfo.get('palette'), pseudo_dir,
                         max_classes, cell, dataset.backend_args, irn_samples)


def _refine(irn: nn.Module, cfg: Config, split: str, num: int,
            cam_dir: Optional[str]) -> list:
    """IRN predictions (``boundary_map``, ``pred_sem_seg``) of the first
    ``num`` images of ``cfg``'s split, read through the IRN's
    ``infer_pipeline``."""
    where = irn.cfg.filename or 'the IRN config'
    if 'infer_pipeline' not in irn.cfg:
        raise KeyError(f'{where} has no key infer_pipeline (loading the '
                       'image and its CAMs: LoadCAMFromFile, PackCAMInputs)')
    pipeline = copy.deepcopy(irn.cfg.infer_pipeline)
    if cam_dir is not None:
        set_cam_dir(pipeline, cam_dir)
    # the CAM config's data set, so that both networks see the same images
    dataset = build_infer_dataset(cfg, split, pipeline=pipeline)
    with torch.no_grad():
        return [
            irn.test_step(pseudo_collate([dataset[idx]]))[0]
            for idx in range(num)
        ]


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
