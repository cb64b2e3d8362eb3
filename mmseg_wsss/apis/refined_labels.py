# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Refined pseudo-label export: ``runner.test()`` of a trained IRN on a
split, one PNG per image.

The same run as the CAM pseudo-label export (:func:`set_writer_run`:
:class:`~mmseg_wsss.datasets.SkipExistingSampler`, so resumable and
sharded over DDP ranks; a :class:`~mmseg_wsss.evaluation.PseudoLabelWriter`
with a manifest), with the IRN's ``infer_pipeline`` (image + exported CAMs)
and its ``predict()``: the random walk (and, with ``crf``, the dense CRF
after it) gives ``pred_sem_seg``, which the writer's ``'label'`` output
writes as it is.
"""
import copy
import os.path as osp
from pathlib import Path
from typing import Dict, Optional, Union

from mmengine.config import Config

from mmseg_wsss.utils.config_paths import set_cfg_cam_dir
from mmseg_wsss.utils.manifest import read_manifest
from .inference import infer_dataset_cfg
from .pseudo_labels import manifest_settings, run_export, set_writer_run


def refined_export_cfg(config: Union[str, Path, Config],
                       checkpoint: str,
                       out_dir: str,
                       split: str = 'train_aug',
                       cam_dir: Optional[str] = None,
                       bg_thr: Optional[float] = None,
                       crf: Optional[dict] = None,
                       overwrite: bool = False,
                       workers: int = 0,
                       work_dir: Optional[str] = None,
                       launcher: str = 'none') -> Config:
    """The config of a refined-label export run, for ``Runner.from_cfg``.

    Args:
        config (str | Path | Config): Config of the IRN (not changed).
        checkpoint (str): Its trained checkpoint (``load_from``).
        out_dir (str): Folder of the refined labels, ``{image name}.png``.
        split (str): Split under ``ImageSets/Segmentation``. Defaults to
            'train_aug'.
        cam_dir (str, optional): The exported CAMs of the split (``OUT/cams``
            of a ``--save-cams`` export). Defaults to None: the config's
            ``LoadCAMFromFile`` folder.
        bg_thr (float, optional): Background score against the walked maps.
            Defaults to None, meaning ``model.test_cfg.bg_thr``.
        crf (dict, optional): A dense CRF after the walk (:class:`DenseCRF`
            parameters, ``{}`` for the defaults). Defaults to None:
            ``model.test_cfg.crf``.
        overwrite (bool): Recompute images whose PNG exists, and replace a
            manifest of other settings. Defaults to False.
        workers (int): Writer processes (PNG encoding, writes). Defaults
            to 0.
        work_dir (str, optional): Folder of the run's logs. Defaults to
            None: the config's ``work_dir``, else ``work_dirs/{config
            name}``.
        launcher (str): mmengine launcher. Defaults to 'none'.

    Returns:
        Config: The export config.

    Raises:
        KeyError: The config reads no CAMs (not an IRN config).
    """
    cfg = copy.deepcopy(config) if isinstance(
        config, Config) else Config.fromfile(config)
    if cam_dir is not None:
        set_cfg_cam_dir(cfg, osp.abspath(cam_dir))
    test_cfg = cfg.model.setdefault('test_cfg', {})
    if bg_thr is not None:
        test_cfg['bg_thr'] = bg_thr
    if crf is not None:
        test_cfg['crf'] = crf
    cams = _cam_dir(cfg)
    cams_manifest = read_manifest(cams) if osp.isdir(cams) else None
    settings = dict(
        # the walk's settings (radius, beta, exp_times, bg_thr, flip, crf)
        test_cfg=dict(test_cfg),
        # the CAMs walked: what made them, as their folder's manifest says
        cams=None if cams_manifest is None else cams_manifest['settings'])
    # the model's prediction is the refined mask: written as it is
    outputs = [
        dict(kind='label', dir=out_dir, bg_thr=test_cfg.get('bg_thr', 0.25))
    ]
    set_writer_run(
        cfg,
        infer_dataset_cfg(cfg, split),
        outputs,
        checkpoint,
        split,
        manifest=manifest_settings(cfg, checkpoint, **settings),
        overwrite=overwrite,
        workers=workers,
        work_dir=work_dir,
        launcher=launcher)
    return cfg


def _cam_dir(cfg: Config) -> str:
    """The folder the config's ``infer_pipeline`` reads CAMs from."""
    for transform in cfg.get('infer_pipeline', []):
        if transform['type'] == 'LoadCAMFromFile':
            return transform['cam_dir']
    raise KeyError(f'{cfg.filename}: infer_pipeline has no LoadCAMFromFile '
                   '(the refined-label export needs an IRN config)')


def make_refined_labels(config: Union[str, Path, Config], checkpoint: str,
                        out_dir: str, **kwargs) -> Dict[str, float]:
    """Write one refined pseudo-label PNG per image of a split.

    Per image: the IRN's boundary map -> random walk of the image's
    exported CAMs -> background threshold (-> dense CRF) -> 'P' mode PNG
    in the dataset's palette at the image's size,
    ``out_dir/{image name}.png``, written atomically. Images whose PNG
    exists are skipped unless ``overwrite``; under a launcher the ranks
    share the images.

    Args:
        config (str | Path | Config): Config of the IRN.
        checkpoint (str): Its trained checkpoint.
        out_dir (str): Output folder, created if missing.
        **kwargs: The other arguments of :func:`refined_export_cfg`.

    Returns:
        dict: As :func:`~mmseg_wsss.apis.pseudo_labels.run_export`.

    Raises:
        ValueError: ``out_dir`` holds refined labels of other settings (its
            ``manifest.json``) and ``overwrite`` is False.
    """
    return run_export(
        refined_export_cfg(config, checkpoint, out_dir, **kwargs))
