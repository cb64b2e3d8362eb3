# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Point a whole config at its inputs: the data root, the exported CAMs, the
relation labels and the pseudo labels (the tools' ``--data-root``,
``--cam-dir``, ``--relation-dir`` and ``--pseudo-labels``).

A config names these in several places (every dataloader's dataset, the
pipelines that read CAMs, IRN's ``infer_pipeline``); these functions set
all of them, so no user has to address a pipeline transform by its index.
:func:`split_file` and :func:`dataset_metainfo` read a dataset config's
other splits and its classes, for VOC's layout and COCO's alike.
"""
import os.path as osp
from typing import Iterator, List

from mmseg.registry import DATASETS

from .constants import SPLIT_FILE

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def dataset_cfg(loader_cfg: dict) -> dict:
    """The innermost dataset config of a dataloader config (through
    wrappers such as ``RepeatDataset``, which hold ``dataset``)."""
    ds = loader_cfg['dataset']
    while 'dataset' in ds and 'data_root' not in ds:
        ds = ds['dataset']
    return ds


def dataset_cfgs(cfg) -> Iterator[dict]:
    """Every innermost dataset config of the config's dataloaders (each
    once, also when ``test_dataloader`` is ``val_dataloader``), the
    members of ``ConcatDataset``'s ``datasets`` included."""
    seen = set()
    for key in DATALOADERS:
        loader = cfg.get(key)
        if not loader or 'dataset' not in loader:
            continue
        stack = [dataset_cfg(loader)]
        while stack:
            ds = stack.pop()
            if id(ds) in seen:
                continue
            seen.add(id(ds))
            if 'datasets' in ds:
                stack.extend(ds['datasets'])
            else:
                yield ds


def set_data_root(cfg, data_root: str) -> int:
    """Set ``data_root`` of every dataset of the config's dataloaders (and
    the config's top-level ``data_root``), in place.

    mmseg's configs hold ``data_root`` in each dataset: overriding the
    top-level variable after the config was read changes none of them.

    Returns:
        int: The number of datasets changed.
    """
    cfg['data_root'] = data_root
    count = 0
    for ds in dataset_cfgs(cfg):
        ds['data_root'] = data_root
        count += 1
    return count


def set_cam_dir(pipeline: List[dict], cam_dir: str) -> List[dict]:
    """Point the ``LoadCAMFromFile`` transforms of a pipeline at
    ``cam_dir``, in place.

    Args:
        pipeline (list[dict]): Transform configs, e.g. an IRN config's
            ``infer_pipeline``.
        cam_dir (str): Folder of the exported CAM files (``.npz``).

    Returns:
        list[dict]: ``pipeline``.

    Raises:
        ValueError: The pipeline has no ``LoadCAMFromFile``.
    """
    loaders = [t for t in pipeline if t['type'] == 'LoadCAMFromFile']
    if not loaders:
        raise ValueError(
            'the pipeline has no LoadCAMFromFile to read CAMs from '
            f'{cam_dir}: {[t["type"] for t in pipeline]}')
    for transform in loaders:
        transform['cam_dir'] = cam_dir
    return pipeline


def _cam_pipelines(cfg) -> Iterator[List[dict]]:
    for ds in dataset_cfgs(cfg):
        if any(t['type'] == 'LoadCAMFromFile' for t in ds.get('pipeline', [])):
            yield ds['pipeline']
    for key in ('infer_pipeline', 'test_pipeline'):
        pipeline = cfg.get(key)
        if pipeline and any(t['type'] == 'LoadCAMFromFile' for t in pipeline):
            yield pipeline


def set_cfg_cam_dir(cfg, cam_dir: str) -> int:
    """Point every ``LoadCAMFromFile`` of the config (dataloaders,
    ``infer_pipeline``) at ``cam_dir``, in place.

    Returns:
        int: The number of pipelines changed.

    Raises:
        KeyError: The config reads no CAMs (not an IRN config).
    """
    count = 0
    for pipeline in _cam_pipelines(cfg):
        set_cam_dir(pipeline, cam_dir)
        count += 1
    if not count:
        raise KeyError(
            f'--cam-dir {cam_dir}: the config {cfg.filename} reads no CAMs '
            '(no LoadCAMFromFile in its dataloaders or infer_pipeline); '
            'it is for IRN configs')
    return count


def set_relation_dir(cfg, relation_dir: str) -> None:
    """Train on the relation labels in ``relation_dir`` (an IRN config's
    ``train_dataloader.dataset.data_prefix.seg_map_path``), in place.

    Raises:
        KeyError: The config has no training relation labels to set.
    """
    if 'relation_cfg' not in cfg or not cfg.get('train_dataloader'):
        raise KeyError(
            f'--relation-dir {relation_dir}: the config {cfg.filename} '
            'trains on no relation labels (no relation_cfg); it is for '
            'IRN configs')
    dataset_cfg(cfg.train_dataloader).setdefault(
        'data_prefix', {})['seg_map_path'] = relation_dir


def set_pseudo_label_dir(cfg, label_dir: str) -> None:
    """Train on the pseudo labels in ``label_dir`` (a second-stage config's
    ``train_dataloader.dataset.data_prefix.seg_map_path``), in place.

    Raises:
        KeyError: The config has no training set, or is an IRN config
            (whose training masks are relation labels).
    """
    if 'relation_cfg' in cfg:
        raise KeyError(
            f'--pseudo-labels {label_dir}: {cfg.filename} is an IRN config, '
            'which trains on relation labels: use --relation-dir')
    if not cfg.get('train_dataloader'):
        raise KeyError(f'--pseudo-labels {label_dir}: {cfg.filename} has no '
                       'train_dataloader to train on them')
    dataset_cfg(cfg.train_dataloader).setdefault(
        'data_prefix', {})['seg_map_path'] = label_dir


def split_name(dataset: dict) -> str:
    """The split a dataset config reads: its ``ann_file``'s stem."""
    return osp.splitext(osp.basename(dataset['ann_file']))[0]


def split_file(dataset: dict, split: str) -> str:
    """The split file of ``split`` beside the dataset's own ``ann_file``.

    VOC's ``ImageSets/Segmentation/train_aug.txt`` gives
    ``ImageSets/Segmentation/{split}.txt``, COCO's ``ImageSets/train.txt``
    ``ImageSets/{split}.txt``; a dataset without ``ann_file`` VOC's.

    Args:
        dataset (dict): A dataset config (see :func:`dataset_cfg`).
        split (str): Split name.

    Returns:
        str: The split file, relative to ``data_root`` as ``ann_file``.
    """
    ann_file = dataset.get('ann_file')
    if not ann_file:
        return SPLIT_FILE.format(split=split)
    return osp.join(osp.dirname(ann_file), f'{split}.txt')


def dataset_metainfo(dataset: dict) -> dict:
    """``classes`` and ``palette`` of a dataset config: its ``metainfo``
    over its class's ``METAINFO`` (``palette`` may be None).

    Args:
        dataset (dict): A dataset config whose ``type`` is registered in
            mmseg's ``DATASETS``.

    Returns:
        dict: ``classes`` (tuple) and ``palette``.
    """
    dataset_type = dataset['type']
    cls = dataset_type if isinstance(dataset_type,
                                     type) else DATASETS.get(dataset_type)
    if cls is None:
        raise KeyError(f'dataset type {dataset_type!r} is not registered')
    meta = dict(getattr(cls, 'METAINFO', {}))
    meta.update(dataset.get('metainfo') or {})
    return dict(
        classes=tuple(meta.get('classes') or ()), palette=meta.get('palette'))
