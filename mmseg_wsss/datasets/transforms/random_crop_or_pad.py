# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A fixed-size random crop that pads short sides at a random offset."""
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def random_crop_or_pad_box(size: Tuple[int, int],
                           crop_size: Tuple[int, int]) -> Tuple[tuple, tuple]:
    """Draw where an image of ``size`` goes in a canvas of ``crop_size``.

    Per axis: a side longer than the crop is cut at a random window; a side
    that fits is placed at a random offset of the canvas. Offsets are
    uniform over every position (IRN's ``random_crop``).

    Args:
        size (tuple[int, int]): Image (h, w).
        crop_size (tuple[int, int]): Canvas (h, w).

    Returns:
        tuple[tuple, tuple]: ``(src, dst)``, each ``(top, left, h, w)``: the
        window of the image and where it goes in the canvas (same h, w).
    """
    src, dst, extent = [], [], []
    for side, crop in zip(size, crop_size):
        span = min(side, crop)
        offset = int(np.random.randint(abs(side - crop) + 1))
        src.append(offset if side > crop else 0)
        dst.append(0 if side > crop else offset)
        extent.append(span)
    return (src[0], src[1], *extent), (dst[0], dst[1], *extent)


@TRANSFORMS.register_module()
class RandomCropOrPad(BaseTransform):
    """Crop to a fixed size; a side shorter than it is padded around the
    image at a random offset (IRN's and ReCAM's training crop).

    mmseg's ``RandomCrop`` leaves a short side short, and padding (``Pad``,
    the data preprocessor's ``size``) always puts the image in the top-left
    corner, so a network sees padding only at the bottom and the right. IRN
    crops 512 x 512 with the image at a uniformly random position of the
    canvas on each axis that it does not fill.

    The padding of the image is ``pad_val``; with the data preprocessor's
    mean (in the image's channel order, BGR after ``LoadImageFromFile``) it
    normalises to 0, as IRN's canvas (zeros after normalisation). A
    ``pad_val`` that the image's integer type cannot hold gives a float32
    image. Segmentation maps (``seg_fields``) are padded with
    ``seg_pad_val``.

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``,
    ``gt_seg_map`` and the other ``seg_fields``.

    Args:
        crop_size (int | tuple[int, int]): Output (h, w).
        pad_val (float | Sequence[float]): Image padding, one value or one
            per channel. Defaults to 0.
        seg_pad_val (int): Padding of segmentation maps. Defaults to 255.
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 pad_val: Union[float, Sequence[float]] = 0,
                 seg_pad_val: int = 255):
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(crop_size)
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ValueError('RandomCropOrPad: crop_size must be a positive '
                             f'int or (h, w), got {crop_size}')
        self.crop_size = crop_size
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _place(self, array: np.ndarray, src: tuple, dst: tuple, fill,
               dtype) -> np.ndarray:
        canvas = np.empty(self.crop_size + array.shape[2:], dtype=dtype)
        canvas[...] = fill
        top, left, h, w = src
        ctop, cleft = dst[:2]
        canvas[ctop:ctop + h, cleft:cleft + w] = array[top:top + h,
                                                       left:left + w]
        return canvas

    def transform(self, results: dict) -> dict:
        img = results['img']
        src, dst = random_crop_or_pad_box(img.shape[:2], self.crop_size)
        fill = np.asarray(self.pad_val)
        dtype = img.dtype
        if np.issubdtype(dtype, np.integer) and not np.array_equal(
                fill, np.round(fill)):
            dtype = np.float32
        results['img'] = self._place(img, src, dst, fill, dtype)
        results['img_shape'] = self.crop_size
        for key in results.get('seg_fields', []):
            seg = results[key]
            results[key] = self._place(seg, src, dst, self.seg_pad_val,
                                       seg.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')
