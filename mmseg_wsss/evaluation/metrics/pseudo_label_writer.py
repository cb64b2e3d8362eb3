# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Per-image outputs of a CAM network, written during ``runner.test()``."""
import io
import logging
import multiprocessing
import os
import os.path as osp
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from mmseg_wsss.postprocessing import DenseCRF, pseudo_label, relation_labels
from mmseg_wsss.utils import (TEMP_SUFFIX, encode_palette_png, image_name,
                              read_rgb, voc_palette, write_file_atomically)
from mmseg_wsss.utils.manifest import check_manifest, finish_manifest


@dataclass
class CAMPrediction:
    """One image's CAM prediction as arrays: what an output kind encodes.

    Cheap to pickle to a writer process: the CAMs of the image's classes
    only (those of the others are zero).
    """
    img_path: str
    pred: np.ndarray  # uint8 (H, W), ``pred_sem_seg``
    cams: np.ndarray  # float32 (K, H, W), normalised CAMs
    classes: np.ndarray  # int64 (K,), foreground indices 0..C-1
    num_classes: int
    backend_args: Optional[dict] = None
    # float32 (K, h, w), the CAMs at stride 4 (IRN's random-walk input)
    strided_cams: Optional[np.ndarray] = None

    @classmethod
    def from_sample(cls,
                    sample: dict,
                    backend_args: Optional[dict] = None) -> 'CAMPrediction':
        """From a prediction as the evaluator passes it (a dict).

        Args:
            sample (dict): ``SegDataSample.to_dict()`` of a CAM segmentor's
                prediction with ``test_cfg.labels='gt'``: ``img_path``,
                ``img_labels`` (C,), ``seg_logits`` ``[bg_thr, CAMs]``
                (C+1, H, W) and ``pred_sem_seg`` (1, H, W); or a
                refinement's (:class:`IRNSegmentor`), whose classes are
                its ``cam_classes`` (mask indices 1..C) and whose
                ``seg_logits`` hold the walked maps.
            backend_args (dict, optional): To read the image. Defaults to
                None.
        """
        if 'img_labels' in sample:
            present = torch.nonzero(sample['img_labels'] > 0)[:, 0].cpu()
        else:
            present = sample['cam_classes'].long().cpu() - 1
        cams = sample['seg_logits']['data'][1:].float().cpu()
        pred = sample['pred_sem_seg']['data'][0].cpu().numpy()
        # a CAM segmentor's output (PixelData); a refinement's sample
        # holds its loaded walk input under that name, a plain tensor
        strided = sample.get('strided_cams')
        if isinstance(strided, dict):
            strided = strided['data'][present].float().cpu().numpy()
        else:
            strided = None
        return cls(sample['img_path'], pred.astype(np.uint8),
                   cams[present].numpy(), present.numpy(), cams.shape[0],
                   backend_args, strided)

    def all_cams(self) -> np.ndarray:
        """CAMs of all C classes, (C, H, W) float32."""
        cams = np.zeros((self.num_classes, ) + self.pred.shape, np.float32)
        cams[self.classes] = self.cams
        return cams

    def rgb(self) -> np.ndarray:
        """The image, RGB uint8 (H, W, 3)."""
        return read_rgb(self.img_path, self.backend_args)


class LabelOutput:
    """The pseudo label PNG (kind ``'label'``), see :func:`pseudo_label`.

    ``pred_sem_seg``, or the argmax of the dense CRF, then the ignore band;
    a 'P' mode PNG in the dataset's palette (255 in VOC's boundary colour)
    at the image's size.

    Args:
        bg_thr (float): Background threshold of the prediction.
        crf (dict, optional): :class:`DenseCRF` parameters (``{}``: its
            defaults, with ``bg_thr`` the threshold above). Defaults to None
            (no CRF).
        ignore_band (float, optional): Pixels whose top CAM score is within
            this distance of ``bg_thr`` become 255. Defaults to None.
    """
    suffix = '.png'

    def __init__(self,
                 bg_thr: float,
                 crf: Optional[dict] = None,
                 ignore_band: Optional[float] = None) -> None:
        if not 0 <= bg_thr <= 1:
            raise ValueError(f'bg_thr must lie in [0, 1], got {bg_thr}')
        if ignore_band is not None and ignore_band < 0:
            raise ValueError(f'ignore_band must be >= 0, got {ignore_band}')
        self.bg_thr = bg_thr
        self.ignore_band = ignore_band
        self.crf = None if crf is None else DenseCRF(**{
            'bg_thr': bg_thr,
            **crf
        })

    def encode(self, image: CAMPrediction, palette: List[int]) -> bytes:
        """The PNG file of ``image``'s pseudo label."""
        img = None if self.crf is None else image.rgb()
        label = pseudo_label(image.all_cams(), image.pred, self.bg_thr,
                             self.crf, img, self.ignore_band, image.img_path)
        return encode_palette_png(label, palette)


class CAMOutput:
    """The CAMs of the image's classes (kind ``'cams'``): an ``.npz`` with
    ``cams`` (K, H, W) float16, ``classes`` (K,) uint8 mask indices and,
    when the prediction has them (the export's ``test_cfg.strided_cams``),
    ``strided_cams`` (K, (H - 1) // 4 + 1, (W - 1) // 4 + 1) float32: the
    CAMs summed over scales at stride 4 and normalised there, which IRN's
    random walk takes as they are."""
    suffix = '.npz'

    def encode(self, image: CAMPrediction, palette: List[int]) -> bytes:
        """The ``.npz`` file of ``image``'s CAMs."""
        buf = io.BytesIO()
        # compressed: 0.37 of the plain bytes on drawn VOC-sized CAMs
        # (docs/advanced_guides/export.md has the measured sizes)
        np.savez_compressed(
            buf,
            cams=image.cams.astype(np.float16),
            classes=(image.classes + 1).astype(np.uint8),
            **({} if image.strided_cams is None else dict(
                strided_cams=image.strided_cams.astype(np.float32))))
        return buf.getvalue()


class RelationOutput:
    """IRN's relation labels (kind ``'relation'``), see
    :func:`~mmseg_wsss.postprocessing.relation_labels`.

    Confident foreground (its class), confident background (0) and unknown
    pixels (255), each decided by a dense CRF; a 'P' mode PNG in the
    dataset's palette at the image's size. An image with no confident
    pixel still gets its (all-255) file, so the set stays complete, and a
    warning naming it.

    Args:
        conf_fg_thr (float): Background score for confident foreground.
            Defaults to 0.30.
        conf_bg_thr (float): Background score for confident background.
            Defaults to 0.05.
        **kwargs: Other arguments of ``relation_labels`` (``gt_prob``,
            ``crf``).
    """
    suffix = '.png'

    def __init__(self,
                 conf_fg_thr: float = 0.30,
                 conf_bg_thr: float = 0.05,
                 **kwargs) -> None:
        if not 0 <= conf_bg_thr <= conf_fg_thr <= 1:
            raise ValueError('relation labels need 0 <= conf_bg_thr <= '
                             f'conf_fg_thr <= 1, got {conf_bg_thr} and '
                             f'{conf_fg_thr}')
        self.kwargs = dict(
            conf_fg_thr=conf_fg_thr, conf_bg_thr=conf_bg_thr, **kwargs)

    def encode(self, image: CAMPrediction, palette: List[int]) -> bytes:
        """The PNG file of ``image``'s relation labels."""
        labels = relation_labels(image.rgb(), image.cams, image.classes + 1,
                                 **self.kwargs)
        if (labels == 255).all():
            print_log(
                f'{image.img_path}: no confident pixel in its CAMs; its '
                'relation labels are all 255 (unknown)',
                logger='current',
                level=logging.WARNING)
        return encode_palette_png(labels, palette)


# Output kinds by name. A new kind is a class with a ``suffix`` and
# ``encode(image, palette) -> bytes``, added here.
OUTPUT_KINDS = dict(label=LabelOutput, cams=CAMOutput, relation=RelationOutput)
# The tool option that chooses each kind's folder, for the manifest's error.
FOLDER_OPTIONS = dict(
    label='--out',
    cams='--out (CAMs go to OUT/cams)',
    relation='--relation-labels')


def _write_files(image: CAMPrediction, files: Sequence[Tuple[str, object]],
                 palette: List[int]) -> str:
    """Encode and write one image's outputs, atomically, in order.

    Runs in the testing process or in a writer process.

    Returns:
        str: The image path.
    """
    for path, output in files:
        write_file_atomically(output.encode(image, palette), path)
    return image.img_path


def _init_writer_process() -> None:
    """A writer process leaves the CPU cores to the network's threads."""
    torch.set_num_threads(1)


@METRICS.register_module()
class PseudoLabelWriter(BaseMetric):
    """Write each image's outputs during ``runner.test()``; score nothing.

    In the style of mmseg's ``IoUMetric(format_only=True, output_dir=...)``:
    ``runner.test()`` iterates the export split (sampler, DataLoader
    workers, DDP shards, progress logs) and runs the CAM segmentor with
    ``test_cfg.labels='gt'`` and no CRF; :meth:`process` writes the outputs
    of each prediction, ``{dir}/{image name}{suffix}``, atomically (a
    temporary file renamed over the target), so an interrupted export
    leaves complete files only. With
    :class:`~mmseg_wsss.datasets.SkipExistingSampler` over the same files,
    images whose outputs exist are not even predicted: a rerun resumes.

    ``outputs`` lists what to write per image, each a dict of ``kind``,
    ``dir`` and the kind's arguments; files are written in list order, so
    the last one marks an image as done for readers. Kinds
    (:data:`OUTPUT_KINDS`): ``'label'`` (:class:`LabelOutput`, the pseudo
    label PNG), ``'cams'`` (:class:`CAMOutput`) and ``'relation'``
    (:class:`RelationOutput`, IRN's relation labels). Example::

        test_evaluator = dict(
            type='PseudoLabelWriter',
            outputs=[
                dict(kind='cams', dir='pseudo/cams'),
                dict(kind='relation', dir='relation', conf_fg_thr=0.3),
                dict(kind='label', dir='pseudo', bg_thr=0.25, crf=dict()),
            ],
            workers=2)

    With ``manifest`` each output folder gets a ``manifest.json``
    (:func:`~mmseg_wsss.utils.manifest.check_manifest`): these settings,
    the output's kind and arguments, and the splits written. A folder whose
    manifest holds other settings stops the export before any image,
    unless ``overwrite``.

    Args:
        outputs (Sequence[dict]): What to write per image, see above.
        workers (int): Writer processes that take the encoding (CRF, PNG)
            and the writes off the test loop, which meanwhile runs the
            network on the next images; worth it with CRF. Defaults to 0
            (all in this process). The files are the same.
        backend_args (dict, optional): To read images (CRF). Defaults to
            None.
        collect_device (str): As in ``BaseMetric``. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric keys. Defaults to None,
            meaning 'export'.
        manifest (dict, optional): The settings all outputs share (config,
            checkpoint, the model's test settings, ...), JSON-serialisable.
            Defaults to None (no manifest is written or checked).
        split (str, optional): The split exported, for the manifests.
            Defaults to None.
        overwrite (bool): Replace manifests with other settings (the export
            recomputes every image). Defaults to False.
    """
    default_prefix = 'export'

    def __init__(self,
                 outputs: Sequence[dict],
                 workers: int = 0,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 manifest: Optional[dict] = None,
                 split: Optional[str] = None,
                 overwrite: bool = False) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not outputs:
            raise ValueError('PseudoLabelWriter needs outputs to write')
        if workers < 0:
            raise ValueError(f'workers must be >= 0, got {workers}')
        self.outputs = []
        for output in outputs:
            output = dict(output)
            kind, folder = output.pop('kind', None), output.pop('dir', None)
            if kind not in OUTPUT_KINDS or not folder:
                raise ValueError(
                    f'each output needs a kind (one of {sorted(OUTPUT_KINDS)})'
                    f' and a dir, got kind={kind!r}, dir={folder!r}')
            self.outputs.append((folder, OUTPUT_KINDS[kind](**output)))
            os.makedirs(folder, exist_ok=True)
            if manifest is not None:
                check_manifest(folder, {
                    **manifest, 'output': kind,
                    **output
                }, split, overwrite, FOLDER_OPTIONS.get(kind, '--out'))
        self.manifest = manifest is not None
        self.workers = workers
        self.backend_args = backend_args
        self._pool: Optional[ProcessPoolExecutor] = None
        self._pending: Deque[Future] = deque()

    @staticmethod
    def output_files(outputs: Sequence[dict]) -> List[str]:
        """The files the writer makes for an image, with ``{name}`` for its
        name: what :class:`~mmseg_wsss.datasets.SkipExistingSampler` checks.

        Args:
            outputs (Sequence[dict]): The ``outputs`` argument.

        Returns:
            list[str]: One file template per output.
        """
        return [
            osp.join(output['dir'],
                     '{name}' + OUTPUT_KINDS[output['kind']].suffix)
            for output in outputs
        ]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Write (or hand to a writer process) each prediction's files.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model's predictions.
        """
        palette = voc_palette(self.dataset_meta.get('palette'))
        for sample in data_samples:
            image = CAMPrediction.from_sample(sample, self.backend_args)
            name = image_name(image.img_path)
            files = [(osp.join(folder, name + output.suffix), output)
                     for folder, output in self.outputs]
            if self.workers == 0:
                self.results.append(_write_files(image, files, palette))
                continue
            if self._pool is None:
                # spawn: a forked child of a process that ran torch's
                # OpenMP threads can deadlock in its first parallel region
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context('spawn'),
                    initializer=_init_writer_process)
            self._pending.append(
                self._pool.submit(_write_files, image, files, palette))
            # a bounded queue: memory stays flat when writers lag behind
            self._collect(2 * self.workers)

    def _collect(self, limit: int) -> None:
        """Wait for writers until at most ``limit`` jobs are queued; a
        writer's error is raised here, after the pool is shut down."""
        try:
            while len(self._pending) > limit or (self._pending
                                                 and self._pending[0].done()):
                self.results.append(self._pending.popleft().result())
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        """Shut the writer processes down (queued jobs are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def compute_metrics(self, results: list) -> Dict[str, int]:
        """The number of images written.

        Args:
            results (list): One entry per written image.

        Returns:
            dict: ``written``.
        """
        return dict(written=len(results))

    def evaluate(self, size: int) -> dict:
        """Wait for the writers, count the images written by all ranks and
        remove temporary files that killed runs left.

        Overrides ``BaseMetric.evaluate``, which would cut the results of
        unequal shards (a resumed export) to the shortest.

        Args:
            size (int): Length of the dataset (unused).

        Returns:
            dict: ``{prefix}/written``, the same on every rank.
        """
        self._collect(0)
        self._close()
        # every rank has finished writing once this returns
        results = sum(all_gather_object(self.results), [])
        self.results.clear()
        if is_main_process():
            for folder, output in self.outputs:
                if self.manifest:
                    finish_manifest(folder)
                for fname in os.listdir(folder):
                    if fname.startswith('.') and fname.endswith(output.suffix +
                                                                TEMP_SUFFIX):
                        os.remove(osp.join(folder, fname))
        return {
            f'{self.prefix}/{key}': value
            for key, value in self.compute_metrics(results).items()
        }
