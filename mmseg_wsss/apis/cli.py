# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The command-line arguments the tools share: config overrides, launcher."""
import argparse
import logging
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from mmseg_wsss.utils.config_paths import (dataset_cfg, set_cfg_cam_dir,
                                           set_data_root, set_pseudo_label_dir,
                                           set_relation_dir, split_name)

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
# Optimizer wrappers that already autocast (mmengine's and ours).
AMP_OPTIM_WRAPPERS = ('AmpOptimWrapper', 'BF16AmpOptimWrapper')
# A training crop of this side or more is VOC-sized: the VOC and COCO
# configs crop 321-512 px, the toy ones 64-192 px.
LARGE_CROP = 256


def add_config_args(parser: argparse.ArgumentParser,
                    example: str = 'model.test_cfg.bg_thr=0.2',
                    launcher: bool = True) -> argparse.ArgumentParser:
    """Add ``--cfg-options`` and, with ``launcher``, ``--launcher`` and the
    ``--local-rank`` that torch's launchers pass.

    Args:
        parser (ArgumentParser): The tool's parser.
        example (str): An override shown in the help. Defaults to
            'model.test_cfg.bg_thr=0.2'.
        launcher (bool): Add the launcher arguments. Defaults to True.

    Returns:
        ArgumentParser: ``parser``.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs such as '
        f'{example} (lists as key="[a,b]")')
    if launcher:
        parser.add_argument(
            '--launcher',
            choices=LAUNCHERS,
            default='none',
            help='job launcher')
        # torchrun passes --local-rank (or --local_rank on older versions)
        parser.add_argument(
            '--local_rank', '--local-rank', type=int, default=0)
    return parser


def add_data_args(parser: argparse.ArgumentParser,
                  cam_dir: bool = False,
                  relation_dir: bool = False,
                  pseudo_labels: bool = False) -> argparse.ArgumentParser:
    """Add ``--data-root`` and, as asked, ``--cam-dir``, ``--relation-dir``
    and ``--pseudo-labels`` (applied by :func:`load_config`).

    Args:
        parser (ArgumentParser): The tool's parser.
        cam_dir (bool): Also add the IRN configs' CAM folder (training,
            test and export read it). Defaults to False.
        relation_dir (bool): Also add the IRN configs' relation labels
            (only training reads them). Defaults to False.
        pseudo_labels (bool): Also add the second stage's training masks.
            Defaults to False.

    Returns:
        ArgumentParser: ``parser``.
    """
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='data root of every dataloader of the config (e.g. '
        'data/VOCdevkit/VOC2012); relative paths are taken from the current '
        'directory')
    if cam_dir:
        parser.add_argument(
            '--cam-dir',
            metavar='DIR',
            help='IRN configs: the folder of exported CAMs (OUT/cams of '
            'make_pseudo_labels.py --save-cams) that every LoadCAMFromFile '
            'of the config reads')
    if relation_dir:
        parser.add_argument(
            '--relation-dir',
            metavar='DIR',
            help='IRN configs: the folder of relation labels to train on '
            '(make_pseudo_labels.py --relation-labels DIR)')
    if pseudo_labels:
        parser.add_argument(
            '--pseudo-labels',
            metavar='DIR',
            help='second-stage configs: the folder of pseudo labels to train '
            'on (--out of make_pseudo_labels.py or make_refined_labels.py)')
    return parser


def parse_args(parser: argparse.ArgumentParser,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``argv`` (default ``sys.argv``); export ``--local-rank`` as
    ``LOCAL_RANK`` when the launcher did not set it."""
    args = parser.parse_args(argv)
    if 'local_rank' in args and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(args: argparse.Namespace) -> Config:
    """``args.config`` with ``--cfg-options`` merged (and ``--launcher``
    set, if the tool has it)."""
    cfg = Config.fromfile(args.config)
    if 'launcher' in args:
        cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_data_args(cfg, args)
    return cfg


def apply_data_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``--data-root``, ``--cam-dir``, ``--relation-dir`` and
    ``--pseudo-labels`` (those the tool has and the user gave) to ``cfg``,
    in place. Folders are made
    absolute against the current directory, so that a dataset never joins
    them to its data root."""
    data_root = getattr(args, 'data_root', None)
    if data_root is None and 'data_root' in (args.cfg_options or {}):
        # `--cfg-options data_root=DIR` reaches the datasets as well
        data_root = args.cfg_options['data_root']
    if data_root:
        set_data_root(cfg, osp.abspath(data_root))
    if getattr(args, 'cam_dir', None):
        set_cfg_cam_dir(cfg, osp.abspath(args.cam_dir))
    if getattr(args, 'relation_dir', None):
        if not osp.isdir(args.relation_dir):
            raise FileNotFoundError(
                f'--relation-dir {args.relation_dir}: no such folder (write '
                'it with make_pseudo_labels.py --relation-labels DIR)')
        set_relation_dir(cfg, osp.abspath(args.relation_dir))
    if getattr(args, 'pseudo_labels', None):
        set_pseudo_label_dir(cfg, osp.abspath(args.pseudo_labels))
    return cfg


def resolve_work_dir(cfg: Config, work_dir: Optional[str] = None) -> None:
    """Set ``cfg.work_dir``: ``work_dir`` if given, else the config's, else
    ``./work_dirs/{config file name}`` (mmseg's tools do the same)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename or 'run'))[0]
        cfg.work_dir = osp.join('./work_dirs', name)


def enable_amp(cfg: Config) -> Optional[str]:
    """Switch ``cfg.optim_wrapper`` to automatic mixed precision (``--amp``).

    On an accelerator (CUDA, NPU, MLU, MUSA) mmengine's ``AmpOptimWrapper``
    with dynamic loss scaling and mmengine's default dtype (float16; add
    ``optim_wrapper.dtype=bfloat16`` for bfloat16); on the CPU, which
    mmengine's wrapper refuses, :class:`BF16AmpOptimWrapper` (bfloat16
    autocast, the only CPU autocast dtype, without loss scaling).

    Args:
        cfg (Config): The training config, changed in place.

    Returns:
        str | None: The wrapper type selected; None when the config already
        uses one of ``AMP_OPTIM_WRAPPERS`` (left as it is, with a warning).
    """
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') in AMP_OPTIM_WRAPPERS:
        print_log(
            'AMP training is already enabled in your config '
            f'(optim_wrapper.type={wrapper.type}).',
            logger='current',
            level=logging.WARNING)
        return None
    if get_device() == 'cpu':
        wrapper.type = 'BF16AmpOptimWrapper'
    else:
        wrapper.type = 'AmpOptimWrapper'
        wrapper.loss_scale = 'dynamic'
    return wrapper.type


def training_crop(cfg: Config) -> Optional[Tuple[int, int]]:
    """The (H, W) crop a config trains on: its data preprocessor's
    ``size``, else the largest ``crop_size`` of its training pipeline
    (nested ``transforms`` included); None if it has neither."""
    size = cfg.get('model', {}).get('data_preprocessor', {}).get('size')
    crops = [tuple(size)] if size else []
    loader = cfg.get('train_dataloader')
    stack = list(dataset_cfg(loader).get('pipeline', [])) if loader else []
    while stack:
        step = stack.pop()
        if isinstance(step, (list, tuple)):
            stack += step
            continue
        if step.get('crop_size'):
            crop = step['crop_size']
            crops.append((crop,
                          crop) if isinstance(crop, int) else tuple(crop))
        stack += step.get('transforms', [])
    return max(crops, key=lambda c: c[0] * c[1]) if crops else None


def warn_cpu_training(cfg: Config, device: Optional[str] = None) -> bool:
    """Warn loudly when a VOC-sized config is about to train on the CPU.

    mmengine's runner takes the CPU without a word when CUDA is missing
    (a CPU-only torch, no driver, ``CUDA_VISIBLE_DEVICES`` empty); a
    VOC-sized config then runs for days instead of hours. The warning says
    why CUDA is missing as far as torch can tell.

    Args:
        cfg (Config): The training config.
        device (str, optional): The device the runner will use. Defaults
            to None, meaning mmengine's ``get_device()``.

    Returns:
        bool: Whether it warned: the device is the CPU and the training
        crop has :data:`LARGE_CROP` px or more on a side.
    """
    device = device or get_device()
    crop = training_crop(cfg)
    if device != 'cpu' or crop is None or max(crop) < LARGE_CROP:
        return False
    if torch.version.cuda is None:
        why = f'torch {torch.__version__} is a CPU-only build'
    else:
        why = (f'torch {torch.__version__} is built for CUDA '
               f'{torch.version.cuda}, but torch.cuda.is_available() is '
               'False (no GPU visible, or a driver older than that CUDA)')
    print_log(
        f'TRAINING ON THE CPU: {cfg.filename} trains on {crop[0]}x{crop[1]} '
        f'crops, and no GPU is in use: {why}. mmengine falls back to the '
        'CPU silently; one iteration of a VOC-sized config takes seconds '
        'to minutes there (docs/real_scale.md). For a GPU torch see '
        'docs/get_started.md#gpu.',
        logger='current',
        level=logging.WARNING)
    return True


def add_export_args(
        parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add what every export tool takes: ``--out``, ``--split``,
    ``--overwrite`` and ``--work-dir``.

    Args:
        parser (ArgumentParser): The tool's parser.

    Returns:
        ArgumentParser: ``parser``.
    """
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--split',
        help='split name, read from {split}.txt beside the train '
        "dataset's ann_file (ImageSets/Segmentation/ on VOC, ImageSets/ on "
        "COCO; default: the train dataset's own split, train_aug on VOC)")
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='recompute images whose PNG exists (default: skip them), and '
        "replace the folder's manifest")
    parser.add_argument(
        '--work-dir',
        help='folder of the run logs (default: work_dirs/<config name>)')
    return parser


def export_split(cfg: Config, split: Optional[str] = None) -> str:
    """``split``, else the split of the config's training dataset (the
    default of :func:`add_export_args`'s ``--split``)."""
    return split or split_name(dataset_cfg(cfg.train_dataloader))


def print_export_summary(split: str, summary: dict, out: str) -> None:
    """Print an export's summary (written, skipped, speed) on the main
    process, as ``make_pseudo_labels.py`` and ``make_refined_labels.py``
    end."""
    if is_main_process():
        print(f'\n{split}: {summary["written"]} images written, '
              f'{summary["skipped"]} skipped (already done) to {out} in '
              f'{summary["seconds"]:.1f} s '
              f'({summary["images_per_second"]:.2f} images/s)')
