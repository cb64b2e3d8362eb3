# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Pseudo-label export: ``runner.test()`` of a CAM network on a split.

The export config is the network's config with ``test_dataloader`` on the
split (:class:`~mmseg_wsss.datasets.SkipExistingSampler`: unfinished images
only, unpadded DDP shards), ``test_evaluator`` a
:class:`~mmseg_wsss.evaluation.PseudoLabelWriter` and the model predicting
with the image's own labels, BatchNorm folded
(:class:`~mmseg_wsss.engine.PrepareForInferenceHook`). mmengine's runner
does the rest: distributed set-up (on CPUs after
:func:`~mmseg_wsss.utils.init_cpu_dist`), sharding, DataLoader workers,
progress logs.
"""
import copy
import itertools
import os.path as osp
import time
from pathlib import Path
from typing import Dict, List, Optional, Union

from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_wsss.evaluation import PseudoLabelWriter
from mmseg_wsss.utils import init_cpu_dist
from mmseg_wsss.utils.manifest import checkpoint_id
from .cli import resolve_work_dir
from .inference import infer_dataset_cfg

# Runners of one process need distinct experiment names (their loggers and
# message hubs are looked up by name).
_EXPORT_IDS = itertools.count()


def export_cfg(config: Union[str, Path, Config],
               checkpoint: str,
               out_dir: str,
               split: str = 'train_aug',
               crf: Optional[dict] = None,
               bg_thr: Optional[float] = None,
               ignore_band: Optional[float] = None,
               cam_dir: Optional[str] = None,
               relation_dir: Optional[str] = None,
               relation: Optional[dict] = None,
               overwrite: bool = False,
               workers: int = 0,
               work_dir: Optional[str] = None,
               launcher: str = 'none') -> Config:
    """The config of a pseudo-label export run, for ``Runner.from_cfg``.

    Args:
        config (str | Path | Config): Config of the CAM network (not
            changed).
        checkpoint (str): Its checkpoint (``load_from``).
        out_dir (str): Folder of the pseudo labels, ``{image name}.png``.
        split (str): Split under ``ImageSets/Segmentation``. Defaults to
            'train_aug'.
        crf (dict, optional): :class:`DenseCRF` parameters; ``{}`` means
            its defaults, and ``bg_thr`` defaults to the threshold used.
            Defaults to None (no CRF).
        bg_thr (float, optional): Background threshold. Defaults to None,
            meaning ``model.test_cfg.bg_thr``.
        ignore_band (float, optional): Pixels whose top CAM score is within
            this distance of ``bg_thr`` become 255. Defaults to None.
        cam_dir (str, optional): Also save the normalised CAMs of the
            present classes there, ``{image name}.npz`` (``cams`` (K, H, W)
            float16, ``classes`` (K,) uint8 mask indices, ``strided_cams``
            at stride 4, IRN's random-walk input: see
            :class:`~mmseg_wsss.evaluation.metrics.pseudo_label_writer.CAMOutput`).
            Defaults to None.
        relation_dir (str, optional): Also write IRN's relation labels
            there, ``{image name}.png`` (0 background, 1..C classes, 255
            unknown), by a CRF per image in the writer processes. Defaults to
            None.
        relation (dict, optional): Arguments of
            :class:`~mmseg_wsss.evaluation.metrics.pseudo_label_writer.RelationOutput`
            (``conf_fg_thr``, ``conf_bg_thr``, ...). Defaults to None (its
            defaults).
        overwrite (bool): Recompute images whose outputs exist. Defaults to
            False.
        workers (int): Writer processes (CRF, PNG encoding, writes).
            Defaults to 0.
        work_dir (str, optional): Folder of the run's logs. Defaults to
            None: the config's ``work_dir``, else
            ``work_dirs/{config name}``.
        launcher (str): mmengine launcher ('none', 'pytorch', 'slurm',
            'mpi'). Defaults to 'none'.

    Returns:
        Config: The export config. Its writer checks and writes the
        ``manifest.json`` of every output folder (the config and checkpoint,
        the model's test settings and each output's arguments).
    """
    cfg = copy.deepcopy(config) if isinstance(
        config, Config) else Config.fromfile(config)
    thr = cfg.model.test_cfg.get('bg_thr') if bg_thr is None else bg_thr
    outputs = [] if cam_dir is None else [dict(kind='cams', dir=cam_dir)]
    if relation_dir is not None:
        outputs.append(
            dict(kind='relation', dir=relation_dir, **(relation or {})))
    elif relation is not None:
        raise ValueError('relation arguments given without a relation_dir')
    # the PNG last: on disk it implies the other outputs are there too
    outputs.append(
        dict(
            kind='label',
            dir=out_dir,
            bg_thr=thr,
            crf=None if crf is None else {
                'bg_thr': thr,
                **crf
            },
            ignore_band=ignore_band))
    # saved CAMs carry IRN's random-walk input, the CAMs at stride 4
    cfg.model.test_cfg.update(
        labels='gt', crf=None, bg_thr=thr, strided_cams=cam_dir is not None)
    # the CAMs depend on these; the threshold and CRF are the outputs'
    test_cfg = {
        k: v
        for k, v in cfg.model.test_cfg.items()
        if k not in ('bg_thr', 'crf', 'labels', 'strided_cams')
    }
    cfg.custom_hooks = list(cfg.get(
        'custom_hooks', [])) + [dict(type='PrepareForInferenceHook')]
    set_writer_run(
        cfg,
        infer_dataset_cfg(cfg, split),
        outputs,
        checkpoint,
        split,
        manifest=manifest_settings(cfg, checkpoint, test_cfg=test_cfg),
        overwrite=overwrite,
        workers=workers,
        work_dir=work_dir,
        launcher=launcher)
    return cfg


def manifest_settings(cfg: Config, checkpoint: str, **settings) -> dict:
    """The settings an export's manifest records for every output: the
    config's file name, the checkpoint's name and short hash
    (:func:`~mmseg_wsss.utils.manifest.checkpoint_id`), and ``settings``."""
    name = osp.basename(cfg.filename) if cfg.filename else None
    return dict(config=name, checkpoint=checkpoint_id(checkpoint), **settings)


def set_writer_run(cfg: Config,
                   dataset: dict,
                   outputs: List[dict],
                   checkpoint: str,
                   split: str,
                   manifest: Optional[dict] = None,
                   overwrite: bool = False,
                   workers: int = 0,
                   work_dir: Optional[str] = None,
                   launcher: str = 'none') -> Config:
    """Make ``cfg`` a ``runner.test()`` that writes ``outputs`` per image of
    ``dataset``, in place: what every export shares (CAM pseudo labels
    here, refined labels in :mod:`.refined_labels`).

    ``test_dataloader`` iterates the unfinished images
    (:class:`~mmseg_wsss.datasets.SkipExistingSampler`, batch 1, the
    config's DataLoader workers), ``test_evaluator`` is a
    :class:`~mmseg_wsss.evaluation.PseudoLabelWriter` (with ``manifest``),
    ``load_from`` the checkpoint; the work dir as the tools resolve it.

    Args:
        cfg (Config): The network's config, changed in place.
        dataset (dict): The dataset config of the export split.
        outputs (list[dict]): The writer's ``outputs``.
        checkpoint (str): The network's checkpoint.
        split (str): The split's name (manifests, experiment name).
        manifest (dict, optional): The writer's ``manifest``. Defaults to
            None.
        overwrite (bool): Recompute every image. Defaults to False.
        workers (int): Writer processes. Defaults to 0.
        work_dir (str, optional): Folder of the logs. Defaults to None.
        launcher (str): mmengine launcher. Defaults to 'none'.

    Returns:
        Config: ``cfg``.
    """
    loader = cfg.get('test_dataloader') or {}
    num_workers = loader.get('num_workers', 0)
    cfg.test_dataloader = dict(
        batch_size=1,
        num_workers=num_workers,
        persistent_workers=num_workers > 0
        and loader.get('persistent_workers', False),
        sampler=dict(
            type='SkipExistingSampler',
            outputs=PseudoLabelWriter.output_files(outputs),
            overwrite=overwrite),
        dataset=dataset)
    cfg.test_evaluator = dict(
        type='PseudoLabelWriter',
        outputs=outputs,
        workers=workers,
        backend_args=dataset.get('backend_args'),
        manifest=manifest,
        split=split,
        overwrite=overwrite)
    cfg.test_cfg = dict(type='TestLoop')
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.launcher = launcher
    resolve_work_dir(cfg, work_dir)
    cfg.experiment_name = (f'export_{split}_{time.strftime("%Y%m%d_%H%M%S")}'
                           f'_{next(_EXPORT_IDS)}')
    return cfg


def run_export(cfg: Config) -> Dict[str, float]:
    """Build and run an export config (:func:`set_writer_run`).

    Returns:
        dict: ``written`` and ``skipped`` image counts (all ranks),
        ``seconds`` (this process' ``runner.test()``) and
        ``images_per_second`` (written images only).
    """
    init_cpu_dist(cfg)
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    metrics = runner.test()
    seconds = time.perf_counter() - start
    written = metrics['export/written']
    return dict(
        written=written,
        skipped=len(runner.test_dataloader.dataset) - written,
        seconds=seconds,
        images_per_second=written / seconds if written else 0.0)


def make_pseudo_labels(config: Union[str, Path, Config], checkpoint: str,
                       out_dir: str, **kwargs) -> Dict[str, float]:
    """Write one pseudo-label PNG per image of a split: ``runner.test()``.

    Per image: the CAM segmentor's prediction (``model.test_cfg`` scales
    and flip, the image's own labels) -> optional dense CRF -> optional
    ignore band -> 'P' mode PNG in the dataset's palette at the image's
    size, ``out_dir/{image name}.png``, written atomically. Images whose
    outputs all exist are skipped unless ``overwrite``; under a launcher
    the ranks share the images.

    Args:
        config (str | Path | Config): Config of the CAM network.
        checkpoint (str): Its checkpoint.
        out_dir (str): Output folder, created if missing.
        **kwargs: The other arguments of :func:`export_cfg`.

    Returns:
        dict: As :func:`run_export`.

    Raises:
        ValueError: An output folder holds files of other settings (its
            ``manifest.json``) and ``overwrite`` is False.
    """
    return run_export(export_cfg(config, checkpoint, out_dir, **kwargs))
