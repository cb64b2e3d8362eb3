# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""File checks that turn broken images and masks into clear errors."""
from typing import Optional, Tuple

import mmengine.fileio as fileio
from PIL import Image


def check_image_bytes(data: bytes, path: str) -> None:
    """Fail clearly on an empty or truncated JPEG or PNG file.

    Decoders report these cases obscurely (OpenCV asserts on an empty
    buffer, mmcv then says only that loading failed), or may even return a
    partly grey image. The check reads markers only, it does not decode:
    a JPEG must start with SOI and have its EOI marker after the start of
    its last scan; a PNG must end with its IEND chunk. Other formats are
    left to the decoder.

    Args:
        data (bytes): The file content.
        path (str): The file path, for messages.

    Raises:
        ValueError: The file is empty or truncated; the message names it.
    """
    if not data:
        raise ValueError(f'image {path} is empty (0 bytes)')
    if data[:2] == b'\xff\xd8':
        # Inside entropy-coded data 0xFF is always followed by 0x00 or a
        # restart marker, so the last SOS (FFDA) and EOI (FFD9) found are
        # real markers of the main image.
        last_scan = data.rfind(b'\xff\xda')
        if last_scan < 0 or data.rfind(b'\xff\xd9') < last_scan:
            raise ValueError(
                f'image {path} is a truncated JPEG (no end-of-image marker '
                'after its last scan)')
    elif data[:8] == b'\x89PNG\r\n\x1a\n':
        if b'IEND' not in data[-12:]:
            raise ValueError(f'image {path} is a truncated PNG (no IEND)')
    elif path.lower().endswith(('.jpg', '.jpeg', '.png')):
        raise ValueError(
            f'image {path} is neither a JPEG nor a PNG file (it starts with '
            f'{data[:8]!r})')


# EXIF orientations that rotate by 90 degrees: decoders that honour EXIF
# (OpenCV's IMREAD_COLOR, which mmcv's LoadImageFromFile uses) swap the sides.
_EXIF_ORIENTATION = 0x0112
_EXIF_TRANSPOSED = (5, 6, 7, 8)


def _image_header(path: str,
                  backend_args: Optional[dict] = None,
                  apply_exif: bool = True) -> Tuple[str, Tuple[int, int]]:
    """Mode and size of an image file, read from its header only.

    Args:
        path (str): Path of the image.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        apply_exif (bool): Swap height and width when the EXIF orientation
            rotates the image, as colour decoders do (masks are read
            unchanged, so not for them). Defaults to True.

    Returns:
        tuple[str, tuple[int, int]]: PIL mode and ``(height, width)``.

    Raises:
        ValueError: The file is not a readable image; the message names it.
    """
    try:
        with fileio.get_local_path(path, backend_args) as local, \
                Image.open(local) as img:
            height, width = img.height, img.width
            if apply_exif and img.getexif().get(_EXIF_ORIENTATION,
                                                1) in _EXIF_TRANSPOSED:
                height, width = width, height
            return img.mode, (height, width)
    except OSError as err:
        raise ValueError(f'{path} is not a readable image: {err}') from err


def check_mask_matches_image(seg_map_path: str,
                             img_path: str,
                             backend_args: Optional[dict] = None) -> None:
    """Fail clearly when a mask is no index image or differs in size.

    A mask of another size than its image is usually the mask of another
    image; training or evaluating on it gives silently wrong labels (and
    obscure shape errors later). Only headers are read.

    Args:
        seg_map_path (str): Path of the mask.
        img_path (str): Path of its image.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.

    Raises:
        ValueError: The mask is not a 'P' or 'L' image or its size is not
            the image's; the message names both files.
    """
    mode, mask_size = _image_header(seg_map_path, backend_args, False)
    if mode not in ('P', 'L'):
        raise ValueError(f'{seg_map_path} is a {mode!r} image; masks must be '
                         'index images (P or L mode)')
    _, img_size = _image_header(img_path, backend_args)
    if mask_size != img_size:
        raise ValueError(
            f'mask {seg_map_path} is {mask_size[0]}x{mask_size[1]} (HxW) but '
            f'its image {img_path} is {img_size[0]}x{img_size[1]}')
