# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Reading images and index masks; palette PNGs in VOC's colours."""
import io
from typing import List, Optional, Sequence, Tuple

import mmcv
import mmengine.fileio as fileio
import numpy as np
from PIL import Image

from .constants import IGNORE_COLOUR, IGNORE_INDEX, VOC_CLASS_COLOURS


def read_rgb(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3)."""
    return mmcv.imfrombytes(
        fileio.get(path, backend_args=backend_args), channel_order='rgb')


def read_index_png(path: str,
                   backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a 'P' or 'L' mode mask as its indices, uint8 (H, W).

    Args:
        path (str): Path of the mask.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.

    Returns:
        np.ndarray: The palette indices (not the colours).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a readable image, or not an index image;
            the message names it.
    """
    data = fileio.get(path, backend_args=backend_args)
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.mode not in ('P', 'L'):
                raise ValueError(
                    f'{path} is a {img.mode!r} image; masks must be index '
                    'images (P or L mode)')
            return np.array(img)
    except OSError as err:
        raise ValueError(f'{path} is not a readable mask: {err}') from err


def voc_palette(
        palette: Optional[Sequence[Sequence[int]]] = None) -> List[int]:
    """A 256-entry 'P' mode palette: class colours, VOC's 255 colour.

    Args:
        palette (Sequence[Sequence[int]], optional): RGB colour of each
            class index. Defaults to None, meaning mmseg's VOC palette.

    Returns:
        list[int]: 768 values, the flattened (256, 3) RGB table.
    """
    if palette is None:
        palette = VOC_CLASS_COLOURS
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:len(palette)] = np.asarray(palette, dtype=np.uint8)
    table[IGNORE_INDEX] = IGNORE_COLOUR
    return table.flatten().tolist()


def label_colours(num: int) -> List[Tuple[int, int, int]]:
    """The PASCAL VOC devkit's colour map, for ``num`` label indices.

    Index ``i`` spreads its bits over the high bits of R, G and B, so
    neighbouring indices get distinct colours for any ``num`` up to 256;
    its first 21 entries are VOC's palette. mmseg only ships fixed palettes
    per data set (COCO-Stuff's repeats a colour within its first 80
    classes) and draws random ones for new class sets, hence this
    function.

    Args:
        num (int): Number of colours.

    Returns:
        list[tuple[int, int, int]]: RGB colour of each index.
    """
    colours = []
    for index in range(num):
        rgb = [0, 0, 0]
        value = index
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << shift
            value >>= 3
        colours.append(tuple(rgb))
    return colours


def encode_palette_png(label: np.ndarray, palette: List[int]) -> bytes:
    """Encode a label map as a 'P' mode PNG.

    Args:
        label (np.ndarray): Class indices in [0, 255], shape (H, W).
        palette (list[int]): 768 palette values, see :func:`voc_palette`.

    Returns:
        bytes: The PNG file content.
    """
    img = Image.fromarray(np.ascontiguousarray(label, dtype=np.uint8))
    # putpalette turns the 'L' image into a 'P' image
    img.putpalette(palette)
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()
