# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Loading of saved class activation maps into the pipeline results."""
import io
import os.path as osp
from typing import Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadCAMFromFile(BaseTransform):
    """Load the normalised CAMs of an image saved by the pseudo-label export.

    The file is ``{cam_dir}/{image name}{suffix}``, the image name being its
    file name without extension. It is the ``.npz`` that
    ``make_pseudo_labels(cam_dir=...)`` writes: ``cams`` (K, H, W), the
    normalised CAMs of the image's K classes at the image's size,
    ``classes`` (K,), their mask indices (1..C, background 0 excluded),
    and ``strided_cams`` (K, (H - 1) // 4 + 1, (W - 1) // 4 + 1), the CAMs
    at stride 4 normalised there (IRN's random-walk input), loaded when
    the file has them.

    Place it right after ``LoadImageFromFile``: the CAMs are checked against
    the image's original size. Later resizing leaves them as they are (the
    consumer, e.g. :class:`IRNSegmentor`, resizes them to its own maps);
    flips and crops would misalign them, so use it in test pipelines.

    Required keys: ``img_path``, ``ori_shape``.
    Added keys: ``cams`` (np.float32 (K, H, W)), ``cam_classes``
    (np.int64 (K,)), ``strided_cams`` (np.float32 (K, h, w), if saved).

    Args:
        cam_dir (str): Folder of the CAM files.
        suffix (str): File name suffix. Defaults to '.npz'.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
    """

    def __init__(self,
                 cam_dir: str,
                 suffix: str = '.npz',
                 backend_args: Optional[dict] = None) -> None:
        if not cam_dir:
            raise ValueError('LoadCAMFromFile needs cam_dir, the folder of '
                             'the exported CAM files')
        self.cam_dir = cam_dir
        self.suffix = suffix
        self.backend_args = backend_args

    def _read(self, path: str, img_path: str) -> dict:
        """The arrays of a CAM file, with errors naming it."""
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'CAM file {path} of image {img_path} not found: export the '
                'CAMs with make_pseudo_labels(cam_dir=...) (tools/'
                'make_pseudo_labels.py --save-cams) and point cam_dir there')
        try:
            with np.load(
                    io.BytesIO(fileio.get(path, self.backend_args)),
                    allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError) as err:
            raise ValueError(
                f'{path} is not a readable .npz file: {err}') from err

    def transform(self, results: dict) -> dict:
        """Load the CAMs and class indices of ``results['img_path']``.

        Args:
            results (dict): Pipeline results with ``img_path`` and
                ``ori_shape``.

        Returns:
            dict: ``results`` with ``cams`` and ``cam_classes``.

        Raises:
            FileNotFoundError: The CAM file does not exist.
            KeyError: It lacks ``cams`` or ``classes``.
            ValueError: Its arrays have wrong shapes, non-finite values,
                class indices outside 1..254 or repeated, or CAMs of another
                size than the image (``strided_cams``: than its stride-4
                grid). Every message names the file.
        """
        img_path = results['img_path']
        name = osp.splitext(osp.basename(img_path))[0]
        path = osp.join(self.cam_dir, name + self.suffix)
        data = self._read(path, img_path)
        missing = [key for key in ('cams', 'classes') if key not in data]
        if missing:
            raise KeyError(f'CAM file {path} has no {missing}; it holds '
                           f'{sorted(data)}')
        cams = np.asarray(data['cams'], dtype=np.float32)
        classes = np.asarray(data['classes'])
        if cams.ndim != 3 or classes.shape != cams.shape[:1]:
            raise ValueError(
                f'CAM file {path}: cams must be (K, H, W) and classes (K,), '
                f'got {cams.shape} and {classes.shape}')
        if classes.size and (classes.min() < 1 or classes.max() > 254
                             or len(np.unique(classes)) != len(classes)):
            raise ValueError(
                f'CAM file {path}: classes must be distinct mask indices in '
                f'1..254, got {classes.tolist()}')
        if not np.isfinite(cams).all():
            raise ValueError(f'CAM file {path} holds non-finite CAMs')
        size = tuple(results['ori_shape'][:2])
        if cams.shape[1:] != size:
            raise ValueError(
                f'CAM file {path} holds CAMs of size {cams.shape[1:]} but '
                f'image {img_path} is {size}')
        results['cams'] = cams
        results['cam_classes'] = classes.astype(np.int64)
        if 'strided_cams' in data:
            results['strided_cams'] = self._strided_cams(
                data['strided_cams'], len(classes), size, path)
        return results

    @staticmethod
    def _strided_cams(strided: np.ndarray, num: int, size: tuple,
                      path: str) -> np.ndarray:
        """The checked ``strided_cams`` (K, h, w) of a CAM file."""
        strided = np.asarray(strided, dtype=np.float32)
        expected = (num, (size[0] - 1) // 4 + 1, (size[1] - 1) // 4 + 1)
        if strided.shape != expected:
            raise ValueError(
                f'CAM file {path}: strided_cams must be {expected} (the '
                f'classes at stride 4 of the {size} image), got '
                f'{strided.shape}')
        if not np.isfinite(strided).all():
            raise ValueError(f'CAM file {path} holds non-finite strided_cams')
        return strided

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(cam_dir={self.cam_dir!r}, '
                f'suffix={self.suffix!r})')
