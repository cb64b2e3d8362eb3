# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Pretrained weights a training config names: found before training.

The VOC configs name mmseg's ImageNet weights as ``open-mmlab://NAME``,
which mmengine downloads once into the torch hub cache. A local path (an
offline override) that names no file would otherwise fail deep inside
``init_weights()`` with no word on the config key or the alternatives;
:func:`check_pretrained_files` says both before the Runner starts.
"""
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import get_external_models

DOC = 'docs/get_started.md ("Pretrained weights")'


def pretrained_checkpoints(cfg,
                           key: str = 'model') -> Iterator[Tuple[str, str]]:
    """Every pretrained checkpoint a (model) config names, with its key.

    Finds ``init_cfg`` dicts of type 'Pretrained' (key ``...checkpoint``)
    and mmseg's ``pretrained=<str>`` shortcut, at any depth.

    Args:
        cfg (dict | list): The config (e.g. ``cfg.model``) or a part of it.
        key (str): The key of ``cfg`` in ``--cfg-options`` notation.
            Defaults to 'model'.

    Yields:
        tuple[str, str]: ``(config key, checkpoint)``, e.g.
        ``('model.backbone.init_cfg.checkpoint', 'open-mmlab://...')``.
    """
    if isinstance(cfg, dict):
        if cfg.get('type') == 'Pretrained' and isinstance(
                cfg.get('checkpoint'), str):
            yield f'{key}.checkpoint', cfg['checkpoint']
        for name, value in cfg.items():
            if name == 'pretrained' and isinstance(value, str):
                yield f'{key}.pretrained', value
            else:
                yield from pretrained_checkpoints(value, f'{key}.{name}')
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            yield from pretrained_checkpoints(value, f'{key}.{index}')


def _openmmlab_name(path: str) -> Optional[Tuple[str, str]]:
    """``(NAME, URL)`` of the ``open-mmlab://NAME`` whose file ``path`` is
    named like (``NAME.pth`` or the URL's file name), if any."""
    base = osp.basename(path)
    for name, url in get_external_models().items():
        if base in (f'{name}.pth', osp.basename(url)):
            return name, url
    return None


def missing_pretrained_message(key: str, path: str) -> str:
    """What to do when ``key`` names the local file ``path`` that is not
    there.

    Args:
        key (str): The config key, e.g. 'model.backbone.init_cfg.checkpoint'.
        path (str): Its value.

    Returns:
        str: The message, naming the key, the file and both fixes.
    """
    cache = osp.join(torch.hub.get_dir(), 'checkpoints')
    known = _openmmlab_name(path)
    if known is None:
        # e.g. weights converted from another framework: no mmengine name
        download = (
            f'set {key}=open-mmlab://NAME if mmengine/hub/openmmlab.json '
            'has these weights (mmengine downloads them once into '
            f'{cache}), or a URL')
    else:
        name, url = known
        download = (
            f'set {key}=open-mmlab://{name} (what the VOC configs name); '
            f'mmengine downloads {url} once to '
            f'{osp.join(cache, osp.basename(url))}, where it may also be '
            'copied by hand for an offline machine')
    return (f'Pretrained weights not found: {key}={path} names no file. '
            f'Either (1) {download}; or (2) put the weights at {path}, or '
            f'pass a local copy with --cfg-options {key}=PATH. See {DOC}.')


def check_pretrained_files(cfg) -> None:
    """Check that every local pretrained checkpoint of ``cfg.model`` exists.

    Names with a scheme (``open-mmlab://``, ``https://``, ...) are left to
    mmengine's loaders, which download and cache them.

    Args:
        cfg (Config): A training config.

    Raises:
        FileNotFoundError: If a local checkpoint is missing; the message
            names the config key, the file and both ways to fix it.
    """
    for key, path in pretrained_checkpoints(cfg.get('model', {})):
        if '://' not in path and not osp.isfile(osp.expanduser(path)):
            raise FileNotFoundError(missing_pretrained_message(key, path))


def skip_pretrained_under_checkpoint(cfg) -> List[str]:
    """Drop the pretrained initialisations a checkpoint will overwrite.

    mmengine's runner runs ``model.init_weights()`` (which reads, or
    downloads, every ``Pretrained`` ``init_cfg``) before it loads
    ``load_from`` or resumes, so a stage 1b started from its stage-1a
    checkpoint would need ImageNet weights it then throws away (a download
    for R50, a file for R38). With ``load_from`` set, or ``resume`` with a
    checkpoint in ``work_dir`` to resume from, they are set to None, in
    place, and the keys logged.

    Args:
        cfg (Config): A training config (``work_dir`` resolved).

    Returns:
        list[str]: The config keys dropped, e.g.
        ``['model.backbone.init_cfg']``.
    """
    resumes = cfg.get('resume') and cfg.get('work_dir') and osp.exists(
        osp.join(cfg.work_dir, 'last_checkpoint'))
    if not (cfg.get('load_from') or resumes):
        return []
    dropped = []

    def drop(node, key):
        if isinstance(node, dict):
            for name, value in node.items():
                if name == 'init_cfg' and next(
                        pretrained_checkpoints(value), None) is not None:
                    node[name] = None
                    dropped.append(f'{key}.{name}')
                elif name == 'pretrained' and isinstance(value, str):
                    node[name] = None
                    dropped.append(f'{key}.{name}')
                else:
                    drop(value, f'{key}.{name}')
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                drop(value, f'{key}.{index}')

    drop(cfg.get('model', {}), 'model')
    if dropped:
        source = cfg.load_from if cfg.get('load_from') else (
            f'the last checkpoint of {cfg.work_dir}')
        print_log(
            f'{source} holds the weights: the pretrained initialisation of '
            f'{", ".join(dropped)} is skipped (not read, not downloaded)',
            logger='current')
    return dropped
