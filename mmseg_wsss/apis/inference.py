# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Inference on single images: a segmentor from its config and checkpoint,
a CAM prediction per data set item, the data set of a split."""
import contextlib
import copy
from pathlib import Path
from typing import List, Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import BaseDataset, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_wsss.models.utils.prepare_for_inference import prepare_for_inference
from mmseg_wsss.utils import VOC_CLASS_COLOURS, VOC_CLASSES
from mmseg_wsss.utils.config_paths import (dataset_cfg, dataset_metainfo,
                                           split_file)


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               prepare: bool = False) -> nn.Module:
    """Build a segmentor for inference and load its weights.

    Like ``mmseg.apis.init_model``, which cannot be used because it passes
    ``pretrained`` to every segmentor; the checkpoint holds all weights.

    Args:
        config (str | Path | Config): Config file or object (merged with
            ``cfg_options`` in place).
        checkpoint (str, optional): Checkpoint to load. Defaults to None.
        device (str): Device of the model. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.
            Defaults to None.
        prepare (bool): For CAM segmentors: fold BatchNorm into the
            convolutions and use channels-last weights
            (:func:`prepare_for_inference`); the model is then for
            inference only. Defaults to False.

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` and
        ``dataset_meta`` (from the checkpoint, else the classes of the
        config's test dataset, else VOC's).
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    meta = {}
    if checkpoint is not None:
        meta = load_checkpoint(
            model, checkpoint, map_location='cpu').get('meta', {})
    model.to(device)
    model.eval()
    if prepare:
        prepare_for_inference(model)
    model.dataset_meta = meta.get('dataset_meta') or _config_metainfo(cfg)
    model.cfg = cfg
    return model


def _config_metainfo(cfg: Config) -> dict:
    """``classes`` and ``palette`` of the config's test dataset; VOC's if
    it has none."""
    loader = cfg.get('test_dataloader')
    if loader and 'dataset' in loader:
        meta = dataset_metainfo(dataset_cfg(loader))
        if meta['classes']:
            return meta
    return dict(
        classes=VOC_CLASSES, palette=[list(c) for c in VOC_CLASS_COLOURS])


def infer_dataset_cfg(cfg: Config,
                      split: str = 'train_aug',
                      seg_map_dir: Optional[str] = None,
                      pipeline: Optional[List[dict]] = None) -> ConfigDict:
    """The dataset of ``train_dataloader`` on another split, for inference.

    ``ann_file`` becomes the split's file beside the dataset's own
    (``ImageSets/Segmentation/{split}.txt`` on VOC, ``ImageSets/{split}.txt``
    on COCO, see :func:`split_file`) and the pipeline the config's
    ``infer_pipeline`` (no augmentation, no masks).

    Args:
        cfg (Config): A mmseg-wsss config.
        split (str): Split name. Defaults to 'train_aug'.
        seg_map_dir (str, optional): Mask folder under ``data_root``, so
            that each data info has its ``seg_map_path``. Defaults to None
            (no masks).
        pipeline (list[dict], optional): Another network's pipeline over
            the same images, e.g. an IRN's ``infer_pipeline``. Defaults to
            None (``cfg.infer_pipeline``).

    Returns:
        ConfigDict: The dataset config (``test_mode=True``).

    Raises:
        KeyError: The config has no ``infer_pipeline`` (and no
            ``pipeline`` is given) or no dataset with an ``ann_file`` in
            ``train_dataloader``.
    """
    where = cfg.filename or 'the config'
    if pipeline is None and 'infer_pipeline' not in cfg:
        raise KeyError(f'{where} has no key infer_pipeline (the pipeline '
                       'used to export pseudo labels)')
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    # dataset wrappers (RepeatDataset, ...) keep the real one in `dataset`
    while 'ann_file' not in ds_cfg and 'dataset' in ds_cfg:
        ds_cfg = ds_cfg.dataset
    if 'ann_file' not in ds_cfg:
        raise KeyError(f'{where}: train_dataloader.dataset has no ann_file')
    ds_cfg.update(
        ann_file=split_file(ds_cfg, split),
        pipeline=copy.deepcopy(cfg.infer_pipeline if pipeline is
                               None else pipeline),
        data_prefix=dict(
            ds_cfg.get('data_prefix', {}), seg_map_path=seg_map_dir),
        test_mode=True)
    return ds_cfg


def build_infer_dataset(cfg: Config,
                        split: str = 'train_aug',
                        seg_map_dir: Optional[str] = None,
                        pipeline: Optional[List[dict]] = None) -> BaseDataset:
    """Build :func:`infer_dataset_cfg`; the dataset is in split order."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return DATASETS.build(infer_dataset_cfg(cfg, split, seg_map_dir, pipeline))


@contextlib.contextmanager
def _test_cfg_overrides(model: nn.Module, **overrides):
    """Set keys of ``model.test_cfg`` for the duration of a block."""
    old = {key: model.test_cfg.get(key) for key in overrides}
    model.test_cfg.update(overrides)
    try:
        yield
    finally:
        model.test_cfg.update(old)


def predict_image(model: nn.Module,
                  data: dict,
                  bg_thr: Optional[float] = None) -> SegDataSample:
    """CAM prediction of one dataset item, masked by its image labels.

    Runs ``model.test_step`` with ``test_cfg.labels='gt'`` and without CRF,
    so ``seg_logits`` holds ``[bg_thr, CAMs]`` at the image's own size.

    Args:
        model (nn.Module): A CAM segmentor in eval mode.
        data (dict): A dataset item (``inputs``, ``data_samples``) whose
            sample has ``img_labels``.
        bg_thr (float, optional): Background threshold. Defaults to None,
            meaning ``model.test_cfg.bg_thr``.

    Returns:
        SegDataSample: With ``seg_logits`` (C+1, H, W) and ``pred_sem_seg``
        (1, H, W).
    """
    overrides = dict(labels='gt', crf=None)
    if bg_thr is not None:
        overrides['bg_thr'] = bg_thr
    with _test_cfg_overrides(model, **overrides), torch.no_grad():
        return model.test_step(pseudo_collate([data]))[0]
