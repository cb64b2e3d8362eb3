# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Image-level labels from their three sources.

- ``cls_labels``: an IRN-style file mapping image names to multi-hot vectors,
  see :func:`load_cls_labels`;
- ``xml``: the ``<object>`` names in the VOC XML annotations
  (:func:`labels_from_xml`);
- ``mask``: the classes present in the ground-truth segmentation masks
  (:func:`labels_from_mask`).

Label vectors hold the foreground classes of a data set, without
background: the index of a class is its mask index minus one. The parsers
default to VOC's 20 classes; the datasets pass their own (``num_classes``,
``classes``).
"""
import io
import pickle
import xml.etree.ElementTree as ET
from typing import Dict, Optional, Sequence

import mmengine.fileio as fileio
import numpy as np

from mmseg_wsss.utils import IGNORE_INDEX, VOC_CLASSES, read_index_png
from mmseg_wsss.utils.checkpoint import NUMPY_PICKLE_GLOBALS

VOC_FG_CLASSES = VOC_CLASSES[1:]
NUM_FG_CLASSES = len(VOC_FG_CLASSES)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays, dtypes and scalars only.

    ``np.save`` of a dict writes a pickle, and a pickle can call any
    importable function; refusing every global except numpy's array
    reconstructors (the allow-list checkpoints use too) keeps a crafted
    file from running code.
    """

    def find_class(self, module: str, name: str):
        """Resolve a global only if it is in the numpy allow-list."""
        try:
            return NUMPY_PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f'refusing to load {module}.{name}: only numpy arrays and '
                'scalars may be stored in a class label file') from None


def _load_npy_dict(data: bytes, path: str, num_classes: int) -> dict:
    """Read a dict saved by ``np.save`` without unrestricted unpickling."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f'unsupported .npy format version {version}')
    except ValueError as err:
        raise ValueError(f'{path} is not a readable .npy file: {err}') from err
    if dtype != np.dtype(object):
        raise ValueError(
            f'{path} holds a {dtype} array, not a dict of image name -> '
            f'{num_classes} class labels')
    try:
        obj = _NumpyOnlyUnpickler(fp).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f'{path} cannot be unpickled safely: {err}') from err
    if isinstance(obj, np.ndarray) and obj.ndim == 0:
        obj = obj.item()
    if not isinstance(obj, dict):
        raise ValueError(
            f'{path} holds an object of type {type(obj).__name__}, not a '
            f'dict of image name -> {num_classes} class labels')
    return obj


def _load_npz_dict(data: bytes, path: str) -> dict:
    """Read an ``.npz`` archive of one label vector per image name."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            out = {}
            for key in npz.files:
                try:
                    out[key] = npz[key]
                except ValueError as err:
                    raise ValueError(
                        f'{path}: key {key!r} cannot be read without '
                        f'pickle: {err}') from err
            return out
    except (OSError, EOFError) as err:
        raise ValueError(f'{path} is not a readable .npz file: {err}') from err


def _key_to_name(key, path: str) -> str:
    """Image name of a class label file key (a string or an IRN int)."""
    if isinstance(key, str):
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        # IRN stores '2007_000032' as the integer 2007000032.
        digits = str(int(key))
        return f'{digits[:4]}_{digits[4:]}'
    raise ValueError(
        f'{path}: key {key!r} is a {type(key).__name__}; keys must be image '
        'names (str) or IRN integer names')


def load_cls_labels(
        path: str,
        backend_args: Optional[dict] = None,
        num_classes: int = NUM_FG_CLASSES) -> Dict[str, np.ndarray]:
    """Load a class label file: image name -> multi-hot label vector.

    Two formats are read:

    - ``.npy`` (IRN's ``cls_labels.npy``): ``np.save`` of a dict. numpy can
      only load it with ``allow_pickle=True``, which lets a crafted file run
      code, so the pickle is read by an unpickler that rebuilds nothing but
      numpy arrays, dtypes and scalars. It relies on the names numpy pickles
      arrays under (``numpy[._]core.multiarray._reconstruct``); a future
      numpy that renames them would be refused, not trusted.
    - ``.npz`` (``np.savez(path, **labels)``): read with
      ``allow_pickle=False``, safe by construction; prefer it for new files.

    Keys are image names, or IRN's integers (``2007000032`` for
    ``'2007_000032'``).

    Args:
        path (str): Path of the ``.npy`` or ``.npz`` file.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        num_classes (int): Foreground classes ``C`` (no background), the
            length of every vector. Defaults to 20 (VOC).

    Returns:
        dict[str, np.ndarray]: Image name -> float32 array of shape (C,)
        with values in [0, 1].

    Raises:
        ValueError: The file is not a dict, a key is not a name, or a vector
            has the wrong shape or values; the message names file and key.
    """
    data = fileio.get(path, backend_args=backend_args)
    if path.endswith('.npz'):
        raw = _load_npz_dict(data, path)
    else:
        raw = _load_npy_dict(data, path, num_classes)
    labels = {}
    for key, value in raw.items():
        name = _key_to_name(key, path)
        try:
            # checked in float64: a cast first would turn -1e-100 into -0.0
            # and 1e300 into inf
            vec = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f'{path}: key {key!r} is not a numeric vector: {err}') from err
        if vec.shape != (num_classes, ):
            raise ValueError(
                f'{path}: key {key!r} has shape {vec.shape}, expected '
                f'({num_classes},) (foreground classes of the data set, no '
                'background)')
        if not (np.isfinite(vec).all() and vec.min() >= 0 and vec.max() <= 1):
            raise ValueError(
                f'{path}: key {key!r} has values outside [0, 1]: {vec}')
        if name in labels:
            raise ValueError(f'{path}: image {name!r} appears twice')
        labels[name] = vec.astype(np.float32)
    return labels


def labels_from_xml(path: str,
                    backend_args: Optional[dict] = None,
                    classes: Sequence[str] = VOC_FG_CLASSES) -> np.ndarray:
    """Image labels from the ``<object>`` names of a VOC XML annotation.

    Objects marked ``difficult`` or ``truncated`` count like any other: the
    class is in the image, which is all an image-level label says.

    Args:
        path (str): Path of the XML file.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        classes (Sequence[str]): Foreground class names, in label order.
            Defaults to VOC's 20.

    Returns:
        np.ndarray: float32 multi-hot vector of shape (C,); all zero if the
        file has no ``<object>``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not XML, or an object has no name or a name
            that is not in ``classes``; the message names file and name.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'XML annotation {path} not found')
    try:
        root = ET.fromstring(fileio.get(path, backend_args=backend_args))
    except ET.ParseError as err:
        raise ValueError(f'{path} is not valid XML: {err}') from err
    classes = tuple(classes)
    labels = np.zeros(len(classes), dtype=np.float32)
    for obj in root.iter('object'):
        name = obj.findtext('name')
        if name is None or not name.strip():
            raise ValueError(f'{path}: an <object> has no <name>')
        name = name.strip()
        if name not in classes:
            raise ValueError(f'{path}: unknown class name {name!r} (classes: '
                             f'{", ".join(classes)})')
        labels[classes.index(name)] = 1
    return labels


def labels_from_mask(path: str,
                     backend_args: Optional[dict] = None,
                     ignore_index: int = IGNORE_INDEX,
                     num_classes: int = NUM_FG_CLASSES) -> np.ndarray:
    """Image labels from the classes present in a segmentation mask.

    Args:
        path (str): Path of an index PNG ('P' or 'L' mode; values 0 for
            background, 1..C for classes, ``ignore_index`` for boundaries).
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        ignore_index (int): Label of ignored pixels. Defaults to 255.
        num_classes (int): Foreground classes ``C``. Defaults to 20 (VOC).

    Returns:
        np.ndarray: float32 multi-hot vector of shape (C,).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not an index image or has values that are
            neither classes nor ``ignore_index``.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'segmentation mask {path} not found')
    mask = read_index_png(path, backend_args)
    values = np.unique(mask)
    values = values[values != ignore_index]
    bad = values[values > num_classes]
    if bad.size:
        raise ValueError(
            f'{path} has values {bad.tolist()} that are neither classes '
            f'(0..{num_classes}) nor ignore_index {ignore_index}')
    labels = np.zeros(num_classes, dtype=np.float32)
    labels[values[values > 0] - 1] = 1
    return labels
