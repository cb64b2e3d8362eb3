# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Pseudo-label export: CAMs of a trained network -> palette PNG masks.

One PNG per image, named as the image, written atomically (temporary file in
the same directory, ``fsync``, ``os.replace``), so an interrupted export
leaves complete PNGs only and a rerun continues where it stopped. Ranks
share the work by index (rank ``r`` takes images ``r::world_size``) and never
write the same file.
"""
import contextlib
import io
import multiprocessing
import os
import os.path as osp
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.utils import ProgressBar
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_wsss.models.utils import region_mask
from mmseg_wsss.postprocessing import DenseCRF
from mmseg_wsss.utils import (IGNORE_INDEX, encode_palette_png, read_rgb,
                              temp_path, voc_palette, write_file_atomically)
from .inference import predict_image


def pseudo_label(cams: np.ndarray,
                 pred: np.ndarray,
                 bg_thr: float,
                 crf: Optional[DenseCRF] = None,
                 img: Optional[np.ndarray] = None,
                 ignore_band: Optional[float] = None,
                 name: str = 'image') -> np.ndarray:
    """Turn a CAM prediction into a pseudo label map.

    Without CRF the label is ``pred`` (argmax of ``[bg_thr, CAMs]``, ties to
    background, as in ``pred_sem_seg``); with CRF it is the argmax of the CRF
    probabilities. ``ignore_band`` then marks pixels whose top CAM score lies
    in ``[bg_thr - ignore_band, bg_thr + ignore_band)`` as 255: those are the
    pixels the threshold decides on least evidence.

    Args:
        cams (np.ndarray): Normalised CAMs (C, H, W) float32, as in
            ``seg_logits[1:]`` of :func:`predict_image`.
        pred (np.ndarray): The thresholded prediction (H, W).
        bg_thr (float): Background threshold the prediction used.
        crf (DenseCRF, optional): Dense CRF to refine with. Defaults to None.
        img (np.ndarray, optional): RGB uint8 image (H, W, 3); needed with
            ``crf``. Defaults to None.
        ignore_band (float, optional): Half width of the ignored band.
            Defaults to None (no band).
        name (str): The image, for errors. Defaults to 'image'.

    Returns:
        np.ndarray: uint8 label map (H, W): 0 background, 1..C classes, 255
        ignored.
    """
    if crf is None:
        label = pred
    else:
        if img is None or img.shape[:2] != cams.shape[1:]:
            got = None if img is None else img.shape
            raise ValueError(f'{name}: the CRF needs the RGB image of shape '
                             f'{tuple(cams.shape[1:])} + (3,), got {got}')
        label = crf(img, cams).argmax(0)
    label = label.astype(np.uint8)
    if ignore_band:
        band = region_mask(
            torch.from_numpy(cams)[None], max(bg_thr - ignore_band, 0.0),
            min(bg_thr + ignore_band, 1.0), IGNORE_INDEX)[0]
        label[(band == IGNORE_INDEX).numpy()] = IGNORE_INDEX
    return label


@dataclass
class _ImageOutputs:
    """One image's prediction as arrays, and where its outputs go: what a
    writer process needs, cheap to pickle (the classes of the image only;
    the CAMs of the others are zero)."""
    img_path: str
    png_path: str
    cam_path: Optional[str]
    pred: np.ndarray  # uint8 (H, W)
    cams: np.ndarray  # float32 (K, H, W)
    classes: np.ndarray  # int64 (K,), foreground indices 0..C-1
    num_classes: int

    @classmethod
    def from_sample(cls, sample: SegDataSample, png_path: str,
                    cam_path: Optional[str]) -> '_ImageOutputs':
        present = torch.nonzero(sample.img_labels > 0)[:, 0].cpu()
        cams = sample.seg_logits.data[1:].float().cpu()
        return cls(sample.img_path, png_path, cam_path,
                   sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8),
                   cams[present].numpy(), present.numpy(), cams.shape[0])

    def all_cams(self) -> np.ndarray:
        """CAMs of all C classes, (C, H, W) float32."""
        cams = np.zeros((self.num_classes, ) + self.pred.shape, np.float32)
        cams[self.classes] = self.cams
        return cams


def _write_outputs(image: _ImageOutputs, bg_thr: float, crf: Optional[dict],
                   ignore_band: Optional[float], palette: List[int],
                   backend_args: Optional[dict]) -> None:
    """Label one image (CRF, ignore band) and write its files atomically.

    Runs in the exporting process or in a writer process (``crf`` is the
    :class:`DenseCRF` parameters, so that it pickles).
    """
    cams = image.all_cams()
    dense_crf = img = None
    if crf is not None:
        dense_crf = DenseCRF(**crf)
        img = read_rgb(image.img_path, backend_args)
    label = pseudo_label(cams, image.pred, bg_thr, dense_crf, img, ignore_band,
                         image.img_path)
    # CAMs first: a PNG on disk then implies its CAMs are there too
    if image.cam_path is not None:
        buf = io.BytesIO()
        np.savez(
            buf,
            cams=image.cams.astype(np.float16),
            classes=(image.classes + 1).astype(np.uint8))
        write_file_atomically(buf.getvalue(), image.cam_path)
    write_file_atomically(encode_palette_png(label, palette), image.png_path)


def _init_writer_process() -> None:
    """A writer process leaves the CPU cores to the network's threads."""
    torch.set_num_threads(1)


def _image_names(dataset: BaseDataset) -> List[str]:
    """Output base names of the dataset's images, checked to be unique."""
    names = [
        osp.splitext(osp.basename(dataset.get_data_info(i)['img_path']))[0]
        for i in range(len(dataset))
    ]
    seen, dups = set(), []
    for name in names:
        if name in seen:
            dups.append(name)
        seen.add(name)
    if dups:
        raise ValueError('images must have distinct file names to be '
                         f'written to one folder; repeated: {dups[:5]}')
    return names


def _remove_stale_temp_files(folder: str, targets: set) -> None:
    """Delete temporary files a killed run left for ``targets``."""
    for target in targets:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path(osp.realpath(osp.join(folder, target))))


def make_pseudo_labels(model: nn.Module,
                       dataset: BaseDataset,
                       out_dir: str,
                       crf: Optional[dict] = None,
                       bg_thr: Optional[float] = None,
                       ignore_band: Optional[float] = None,
                       cam_dir: Optional[str] = None,
                       overwrite: bool = False,
                       rank: int = 0,
                       world_size: int = 1,
                       workers: int = 0) -> Dict[str, float]:
    """Write one pseudo-label PNG per image of ``dataset``.

    Per image: :func:`predict_image` (``model.test_cfg`` scales and flip,
    the image's own labels) -> optional dense CRF -> optional ignore band
    -> 'P' mode PNG in the dataset's palette (255 in VOC's boundary colour)
    at the image's size, ``out_dir/{image name}.png``. Images whose outputs
    all exist are skipped unless ``overwrite``.

    Args:
        model (nn.Module): A CAM segmentor (e.g. :class:`CAMSegmentor`) in
            eval mode.
        dataset (BaseDataset): Items with ``img_labels``, usually from
            :func:`build_infer_dataset`.
        out_dir (str): Output folder, created if missing.
        crf (dict, optional): :class:`DenseCRF` parameters; ``{}`` means its
            defaults, and ``bg_thr`` defaults to the threshold used.
            Defaults to None (no CRF).
        bg_thr (float, optional): Background threshold. Defaults to None,
            meaning ``model.test_cfg.bg_thr``.
        ignore_band (float, optional): Pixels whose top CAM score is within
            this distance of ``bg_thr`` become 255, see
            :func:`pseudo_label`. Defaults to None.
        cam_dir (str, optional): Also save the normalised CAMs of the
            present classes there, as ``{image name}.npz`` with ``cams``
            (K, H, W) float16 and ``classes`` (K,) uint8 mask indices.
            Defaults to None.
        overwrite (bool): Recompute images whose outputs exist.
            Defaults to False.
        rank (int): This process' shard. Defaults to 0.
        world_size (int): Number of shards. Defaults to 1.
        workers (int): Writer processes that take the CRF, the PNG encoding
            and the writes off the inference loop, which meanwhile runs the
            network on the next images. Worth it with ``crf`` (a VOC image
            costs about as much CRF time as network time on a GPU).
            Defaults to 0 (all in this process). The files are the same.

    Returns:
        dict: ``written`` and ``skipped`` image counts of this shard,
        ``seconds`` and ``images_per_second`` (written images only).
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError('make_pseudo_labels needs 0 <= rank < world_size, '
                         f'got rank={rank}, world_size={world_size}')
    if model.training:
        raise ValueError('make_pseudo_labels needs the model in eval mode '
                         '(call model.eval())')
    if ignore_band is not None and ignore_band < 0:
        raise ValueError(f'ignore_band must be >= 0, got {ignore_band}')
    thr = model.test_cfg.bg_thr if bg_thr is None else bg_thr
    if not 0 <= thr <= 1:
        raise ValueError(f'bg_thr must lie in [0, 1], got {thr}')
    if workers < 0:
        raise ValueError(f'workers must be >= 0, got {workers}')
    crf = None if crf is None else {'bg_thr': thr, **crf}
    if crf is not None:
        DenseCRF(**crf)  # bad parameters fail here, not in a worker
    palette = voc_palette(dataset.metainfo.get('palette'))

    names = _image_names(dataset)
    mine = range(rank, len(names), world_size)
    os.makedirs(out_dir, exist_ok=True)
    _remove_stale_temp_files(out_dir, {names[i] + '.png' for i in mine})
    if cam_dir is not None:
        os.makedirs(cam_dir, exist_ok=True)
        _remove_stale_temp_files(cam_dir, {names[i] + '.npz' for i in mine})

    write_args = (thr, crf, ignore_band, palette, dataset.backend_args)
    counts = dict(written=0, skipped=0)
    progress = ProgressBar(len(mine)) if rank == 0 else None

    def count(key: str) -> None:
        counts[key] += 1
        if progress is not None:
            progress.update()

    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 0:
            # spawn: a forked child of a process that ran torch's OpenMP
            # threads can deadlock in its first parallel region
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    workers,
                    mp_context=multiprocessing.get_context('spawn'),
                    initializer=_init_writer_process))
        pending = deque()

        def collect(limit: int) -> None:
            """Wait for writers until at most ``limit`` jobs are queued."""
            while len(pending) > limit or (pending and pending[0].done()):
                pending.popleft().result()  # re-raises a writer's error
                count('written')

        for idx in mine:
            png_path = osp.join(out_dir, names[idx] + '.png')
            cam_path = None if cam_dir is None else osp.join(
                cam_dir, names[idx] + '.npz')
            done = osp.exists(png_path) and (cam_path is None
                                             or osp.exists(cam_path))
            if done and not overwrite:
                count('skipped')
                continue
            image = _ImageOutputs.from_sample(
                predict_image(model, dataset[idx], thr), png_path, cam_path)
            if pool is None:
                _write_outputs(image, *write_args)
                count('written')
            else:
                pending.append(pool.submit(_write_outputs, image, *write_args))
                # a bounded queue: memory stays flat when writers lag behind
                collect(2 * workers)
        collect(0)
    seconds = time.perf_counter() - start
    written = counts['written']
    return dict(
        counts,
        seconds=seconds,
        images_per_second=written / seconds if written else 0.0)
