# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Packing of image-level labels into :class:`SegDataSample`."""
import numpy as np
import torch
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """Pack inputs like :class:`PackSegInputs`, plus the image labels.

    ``transform()``: ``PackSegInputs.transform()`` (image, optional
    ``gt_sem_seg``, meta keys) -> ``results['img_labels']`` as the data
    field ``img_labels`` of the ``SegDataSample``. Samples without a mask
    (most of ``train_aug``) simply have no ``gt_sem_seg``.

    Args:
        meta_keys (Sequence[str]): Meta keys packed into the data sample.
            Defaults to :class:`PackSegInputs`'s keys.
    """

    def transform(self, results: dict) -> dict:
        """Pack the image, the optional mask and the image labels.

        Args:
            results (dict): Pipeline results; ``img_labels`` is a float
                multi-hot array of shape (C,).

        Returns:
            dict: ``inputs`` (Tensor (3, H, W)) and ``data_samples``
            (SegDataSample with ``img_labels``, a float32 Tensor (C,)).

        Raises:
            KeyError: ``results`` has no ``img_labels``.
            ValueError: ``img_labels`` is not one-dimensional, or the image
                does not have 3 channels.
        """
        if 'img_labels' not in results:
            raise KeyError(
                f"results of {results.get('img_path')} have no 'img_labels': "
                'PackWSSSInputs needs a dataset with image labels, e.g. '
                'WeakVOCDataset')
        labels = np.asarray(results['img_labels'], dtype=np.float32)
        if labels.ndim != 1:
            raise ValueError(
                f"'img_labels' of {results.get('img_path')} must have shape "
                f'(C,), got {labels.shape}')
        img = results.get('img')
        if img is not None and (img.ndim != 3 or img.shape[2] != 3):
            # PackSegInputs would pack a grey image as 1 channel, which the
            # data preprocessor then broadcasts against 3-channel statistics
            raise ValueError(
                f"image {results.get('img_path')} has shape {img.shape}; CAM "
                'networks take 3-channel images: load them with '
                "LoadImageFromFile(color_type='color'), the default")
        packed = super().transform(results)
        packed['data_samples'].set_data(
            dict(img_labels=torch.from_numpy(labels.copy())))
        return packed
