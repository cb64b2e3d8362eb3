# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Packing of loaded CAMs into :class:`SegDataSample`."""
import numpy as np
import torch
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackCAMInputs(PackSegInputs):
    """Pack inputs like :class:`PackSegInputs`, plus the image's CAMs.

    ``transform()``: ``PackSegInputs.transform()`` (image, optional
    ``gt_sem_seg``, meta keys) -> ``results['cams']`` and
    ``results['cam_classes']`` (from :class:`LoadCAMFromFile`) as the data
    fields ``cams`` (float32 Tensor (K, H, W)) and ``cam_classes`` (int64
    Tensor (K,)) of the ``SegDataSample``, and ``strided_cams`` (float32
    Tensor (K, h, w)) when the file had them.

    Args:
        meta_keys (Sequence[str]): Meta keys packed into the data sample.
            Defaults to :class:`PackSegInputs`'s keys.
    """

    def transform(self, results: dict) -> dict:
        """Pack the image, the optional mask and the CAMs.

        Args:
            results (dict): Pipeline results with ``cams`` and
                ``cam_classes``.

        Returns:
            dict: ``inputs`` (Tensor (3, H, W)) and ``data_samples``
            (SegDataSample with ``cams`` and ``cam_classes``).

        Raises:
            KeyError: ``results`` has no CAMs.
        """
        if 'cams' not in results or 'cam_classes' not in results:
            raise KeyError(
                f"results of {results.get('img_path')} have no 'cams': put "
                'LoadCAMFromFile in the pipeline before PackCAMInputs')
        packed = super().transform(results)
        packed['data_samples'].set_data(
            dict(
                cams=torch.from_numpy(
                    np.ascontiguousarray(results['cams'], np.float32)),
                cam_classes=torch.from_numpy(
                    np.asarray(results['cam_classes'], np.int64))))
        if 'strided_cams' in results:
            packed['data_samples'].strided_cams = torch.from_numpy(
                np.ascontiguousarray(results['strided_cams'], np.float32))
        return packed
