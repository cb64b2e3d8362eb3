# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""PASCAL VOC 2012 with image-level labels for weakly supervised training.

Image-level labels come from one of three sources:

- ``cls_labels``: an IRN-style file mapping image names to multi-hot vectors,
  see :func:`load_cls_labels`;
- ``xml``: the ``<object>`` names in the VOC XML annotations;
- ``mask``: the classes present in the ground-truth segmentation masks.
"""
import copy
import io
import os.path as osp
import pickle
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine.fileio as fileio
import numpy as np
from mmseg.datasets import BaseSegDataset, PascalVOCDataset
from mmseg.registry import DATASETS
from PIL import Image

VOC_CLASSES = tuple(PascalVOCDataset.METAINFO['classes'])
# Foreground classes only; their index in the label vector is the mask index
# minus one, because background is index 0 in the masks.
VOC_FG_CLASSES = VOC_CLASSES[1:]
NUM_FG_CLASSES = len(VOC_FG_CLASSES)

LABEL_SOURCES = ('auto', 'cls_labels', 'xml', 'mask')

# Names are listed only up to this many in messages about many images.
_MAX_NAMES_SHOWN = 10


def _show_names(names: Sequence[str]) -> str:
    """Format a possibly long list of names for an error or a warning."""
    shown = ', '.join(names[:_MAX_NAMES_SHOWN])
    if len(names) > _MAX_NAMES_SHOWN:
        shown += f', ... ({len(names)} in total)'
    return shown


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays, dtypes and scalars only.

    ``np.save`` of a dict writes a pickle, and a pickle can call any
    importable function; refusing every global except numpy's array
    reconstructors keeps a crafted file from running code.
    """

    # numpy 2 pickles these under ``numpy._core``, numpy 1 under
    # ``numpy.core``; they are taken from ``__reduce__`` so that no private
    # module has to be imported.
    _reconstruct = np.zeros(1).__reduce__()[0]
    _scalar = np.float32(0).__reduce__()[0]
    _ALLOWED = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy._core.multiarray', 'scalar'): _scalar,
        ('numpy.core.multiarray', 'scalar'): _scalar,
    }

    def find_class(self, module: str, name: str):
        """Resolve a global only if it is in the numpy allow-list."""
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f'refusing to load {module}.{name}: only numpy arrays and '
                'scalars may be stored in a class label file') from None


def _load_npy_dict(data: bytes, path: str) -> dict:
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
            f'{NUM_FG_CLASSES} class labels')
    try:
        obj = _NumpyOnlyUnpickler(fp).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f'{path} cannot be unpickled safely: {err}') from err
    if isinstance(obj, np.ndarray) and obj.ndim == 0:
        obj = obj.item()
    if not isinstance(obj, dict):
        raise ValueError(
            f'{path} holds an object of type {type(obj).__name__}, not a '
            f'dict of image name -> {NUM_FG_CLASSES} class labels')
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
        backend_args: Optional[dict] = None) -> Dict[str, np.ndarray]:
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

    Returns:
        dict[str, np.ndarray]: Image name -> float32 array of shape (20,)
        with values in [0, 1].

    Raises:
        ValueError: The file is not a dict, a key is not a name, or a vector
            has the wrong shape or values; the message names file and key.
    """
    data = fileio.get(path, backend_args=backend_args)
    if path.endswith('.npz'):
        raw = _load_npz_dict(data, path)
    else:
        raw = _load_npy_dict(data, path)
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
        if vec.shape != (NUM_FG_CLASSES, ):
            raise ValueError(
                f'{path}: key {key!r} has shape {vec.shape}, expected '
                f'({NUM_FG_CLASSES},) (foreground VOC classes, no '
                'background)')
        if not (np.isfinite(vec).all() and vec.min() >= 0 and vec.max() <= 1):
            raise ValueError(
                f'{path}: key {key!r} has values outside [0, 1]: {vec}')
        if name in labels:
            raise ValueError(f'{path}: image {name!r} appears twice')
        labels[name] = vec.astype(np.float32)
    return labels


def labels_from_xml(path: str,
                    backend_args: Optional[dict] = None) -> np.ndarray:
    """Image labels from the ``<object>`` names of a VOC XML annotation.

    Objects marked ``difficult`` or ``truncated`` count like any other: the
    class is in the image, which is all an image-level label says.

    Args:
        path (str): Path of the XML file.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.

    Returns:
        np.ndarray: float32 multi-hot vector of shape (20,); all zero if the
        file has no ``<object>``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not XML, or an object has no name or a name
            that is not a VOC class; the message names file and name.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'XML annotation {path} not found')
    try:
        root = ET.fromstring(fileio.get(path, backend_args=backend_args))
    except ET.ParseError as err:
        raise ValueError(f'{path} is not valid XML: {err}') from err
    labels = np.zeros(NUM_FG_CLASSES, dtype=np.float32)
    for obj in root.iter('object'):
        name = obj.findtext('name')
        if name is None or not name.strip():
            raise ValueError(f'{path}: an <object> has no <name>')
        name = name.strip()
        if name not in VOC_FG_CLASSES:
            raise ValueError(
                f'{path}: unknown class name {name!r} (VOC classes: '
                f'{", ".join(VOC_FG_CLASSES)})')
        labels[VOC_FG_CLASSES.index(name)] = 1
    return labels


def labels_from_mask(path: str,
                     backend_args: Optional[dict] = None,
                     ignore_index: int = 255) -> np.ndarray:
    """Image labels from the classes present in a VOC segmentation mask.

    Args:
        path (str): Path of an index PNG ('P' or 'L' mode; values 0 for
            background, 1..20 for classes, ``ignore_index`` for boundaries).
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        np.ndarray: float32 multi-hot vector of shape (20,).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not an index image or has values that are
            neither classes nor ``ignore_index``.
    """
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'segmentation mask {path} not found')
    try:
        with Image.open(io.BytesIO(fileio.get(path, backend_args))) as img:
            if img.mode not in ('P', 'L'):
                raise ValueError(
                    f'{path} is a {img.mode!r} image; masks must be '
                    'index images (P or L mode)')
            mask = np.asarray(img)
    except OSError as err:
        raise ValueError(f'{path} is not a readable mask: {err}') from err
    values = np.unique(mask)
    values = values[values != ignore_index]
    bad = values[values > NUM_FG_CLASSES]
    if bad.size:
        raise ValueError(
            f'{path} has values {bad.tolist()} that are neither VOC classes '
            f'(0..{NUM_FG_CLASSES}) nor ignore_index {ignore_index}')
    labels = np.zeros(NUM_FG_CLASSES, dtype=np.float32)
    labels[values[values > 0] - 1] = 1
    return labels


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


@DATASETS.register_module()
class WeakVOCDataset(BaseSegDataset):
    """PASCAL VOC 2012 with image-level labels, for WSSS.

    The layout is VOC's::

        data_root/
            JPEGImages/{name}.jpg
            SegmentationClass/{name}.png       (or SegmentationClassAug/)
            Annotations/{name}.xml
            ImageSets/Segmentation/{train_aug,train,val}.txt
            cls_labels.npy                     (optional, IRN style)

    Every sample's data info holds ``img_path``, ``seg_map_path`` (None when
    ``data_prefix['seg_map_path']`` is None or the mask file does not exist,
    as for most of ``train_aug``: the pipeline must then not load
    annotations), ``img_labels`` (float32, (20,), foreground classes in
    ``METAINFO`` order without background), ``label_map``,
    ``reduce_zero_label`` and ``seg_fields``.

    Loading, per split: read names (CRLF tolerated, blank lines skipped,
    DeepLab-style ``/JPEGImages/x.jpg /Seg.../x.png`` lines reduced to
    ``x``) -> reject duplicates -> check every image exists -> check that
    every mask is an index image of its image's size (headers only) ->
    image labels from the chosen source -> skip (with a warning) or reject
    images without any foreground label. At fetch time :meth:`prepare_data`
    checks that the image file is not empty or truncated before the
    pipeline runs, and that a packed mask holds only classes and
    ``ignore_index``.

    Args:
        ann_file (str): Split file, one image name per line.
        label_source (str): ``'cls_labels'``, ``'xml'``, ``'mask'`` or
            ``'auto'``, which takes the first that exists of the class label
            file, the XML directory, else the masks. Defaults to 'auto'.
        cls_labels_file (str): Class label file (``.npy`` or ``.npz``, see
            :func:`load_cls_labels`), relative to ``data_root``. Defaults to
            'cls_labels.npy'.
        xml_dir (str): Directory of the XML annotations, relative to
            ``data_root``. Defaults to 'Annotations'.
        skip_unlabeled (bool): Whether images without any foreground label
            are skipped with a warning; if False they raise. Defaults to
            True.
        img_suffix (str): Suffix of images. Defaults to '.jpg'.
        seg_map_suffix (str): Suffix of masks. Defaults to '.png'.
        data_prefix (dict): ``img_path`` and ``seg_map_path`` directories;
            ``seg_map_path`` may be None for no masks. Defaults to
            dict(img_path='JPEGImages', seg_map_path='SegmentationClass').
        **kwargs: Other arguments of :class:`BaseSegDataset`. ``metainfo``
            may not change the classes: the label vectors are fixed to
            VOC's 20 foreground classes.
    """
    METAINFO = copy.deepcopy(PascalVOCDataset.METAINFO)

    def __init__(self,
                 ann_file: str,
                 label_source: str = 'auto',
                 cls_labels_file: str = 'cls_labels.npy',
                 xml_dir: str = 'Annotations',
                 skip_unlabeled: bool = True,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 **kwargs) -> None:
        if label_source not in LABEL_SOURCES:
            raise ValueError(f'label_source must be one of {LABEL_SOURCES}, '
                             f'got {label_source!r}')
        if not ann_file:
            raise ValueError('WeakVOCDataset needs ann_file (a split file)')
        classes = (kwargs.get('metainfo') or {}).get('classes')
        if classes is not None and tuple(classes) != VOC_CLASSES:
            raise ValueError(
                'WeakVOCDataset keeps the 21 VOC classes (its image labels '
                f'are fixed to them); metainfo classes {classes} differ')
        self.label_source = label_source
        self.skip_unlabeled = skip_unlabeled
        data_root = kwargs.get('data_root')
        self.cls_labels_file = self._under_root(data_root, cls_labels_file)
        self.xml_dir = self._under_root(data_root, xml_dir)
        data_prefix = dict(data_prefix)
        # BaseDataset only accepts string prefixes, so "no masks" is kept
        # out of data_prefix and remembered here.
        self._has_seg_dir = data_prefix.get('seg_map_path') is not None
        if not self._has_seg_dir:
            data_prefix.pop('seg_map_path', None)
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

    @staticmethod
    def _under_root(data_root: Optional[str], path: str) -> str:
        """Join ``path`` to ``data_root`` unless it is absolute or no root."""
        if data_root and not osp.isabs(path):
            return osp.join(data_root, path)
        return path

    def _read_split(self) -> List[str]:
        """Image names of the split file, checked for duplicates."""
        if not fileio.exists(self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(f'split file {self.ann_file} not found')
        text = fileio.get_text(self.ann_file, backend_args=self.backend_args)
        names = []
        for line in text.splitlines():
            fields = line.split()
            if not fields:
                continue
            name = osp.basename(fields[0])
            if name.endswith(self.img_suffix):
                name = name[:-len(self.img_suffix)]
            names.append(name)
        dups = sorted(n for n, count in Counter(names).items() if count > 1)
        if dups:
            raise ValueError(
                f'split file {self.ann_file} lists these images more than '
                f'once: {_show_names(dups)}')
        if not names:
            raise ValueError(f'split file {self.ann_file} lists no image')
        return names

    def _resolve_label_source(self) -> str:
        """The label source to use: ``label_source`` with 'auto' resolved."""
        if self.label_source != 'auto':
            return self.label_source
        if fileio.exists(self.cls_labels_file, self.backend_args):
            return 'cls_labels'
        if fileio.isdir(self.xml_dir, self.backend_args):
            return 'xml'
        return 'mask'

    def _seg_map_path(self, name: str) -> Optional[str]:
        """The mask path of an image, or None if it has no mask."""
        if not self._has_seg_dir:
            return None
        path = osp.join(self.data_prefix['seg_map_path'],
                        name + self.seg_map_suffix)
        return path if fileio.exists(path, self.backend_args) else None

    def _label_origin(self, source: str, name: str,
                      seg_map_path: Optional[str]) -> str:
        """Where the labels of an image come from: a file, or file[key]."""
        if source == 'cls_labels':
            return f'{self.cls_labels_file}[{name!r}]'
        if source == 'xml':
            return osp.join(self.xml_dir, name + '.xml')
        return seg_map_path

    def _image_labels(self, source: str, names: List[str],
                      seg_map_paths: List[Optional[str]]) -> List[np.ndarray]:
        """The label vector of each image, read from ``source``."""
        if source == 'cls_labels':
            table = load_cls_labels(self.cls_labels_file, self.backend_args)
            missing = [n for n in names if n not in table]
            if missing:
                raise KeyError(
                    f'class label file {self.cls_labels_file} has no entry '
                    f'for images {_show_names(missing)}')
            return [table[n] for n in names]
        if source == 'xml':
            return [
                labels_from_xml(
                    self._label_origin(source, n, None), self.backend_args)
                for n in names
            ]
        if not self._has_seg_dir:
            found = ('' if self.label_source == 'mask' else
                     f'found neither {self.cls_labels_file} nor '
                     f'{self.xml_dir}, and ')
            raise ValueError(
                f'label_source={self.label_source!r} {found}needs masks, '
                "but data_prefix['seg_map_path'] is None")
        no_mask = [n for n, p in zip(names, seg_map_paths) if p is None]
        if no_mask:
            seg_dir = self.data_prefix['seg_map_path']
            raise FileNotFoundError(
                f'label_source is mask but {seg_dir} has no mask for images '
                f'{_show_names(no_mask)}')
        return [
            labels_from_mask(p, self.backend_args, self.ignore_index)
            for p in seg_map_paths
        ]

    def load_data_list(self) -> List[dict]:
        """Load the split's image paths, mask paths and image labels.

        Returns:
            list[dict]: One data info per labelled image, in split order.
        """
        names = self._read_split()
        img_dir = self.data_prefix['img_path']
        img_paths = [osp.join(img_dir, n + self.img_suffix) for n in names]
        missing = [
            p for p in img_paths
            if not fileio.exists(p, backend_args=self.backend_args)
        ]
        if missing:
            raise FileNotFoundError(
                f'images listed in {self.ann_file} are missing: '
                f'{_show_names(missing)}')
        seg_map_paths = [self._seg_map_path(n) for n in names]
        for img_path, seg_map_path in zip(img_paths, seg_map_paths):
            if seg_map_path is not None:
                check_mask_matches_image(seg_map_path, img_path,
                                         self.backend_args)
        source = self._resolve_label_source()
        all_labels = self._image_labels(source, names, seg_map_paths)

        data_list, unlabeled = [], []
        for name, img_path, seg_map_path, labels in zip(
                names, img_paths, seg_map_paths, all_labels):
            if not labels.any():
                unlabeled.append(
                    self._label_origin(source, name, seg_map_path))
                continue
            data_list.append(
                dict(
                    img_path=img_path,
                    seg_map_path=seg_map_path,
                    img_labels=labels,
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[]))
        if unlabeled:
            msg = (f'{len(unlabeled)} images of {self.ann_file} have no '
                   f'foreground label (no class in the {source} source) in '
                   f'{_show_names(unlabeled)}')
            if not self.skip_unlabeled:
                raise ValueError(msg)
            warnings.warn(msg + '; they are skipped')
        return data_list

    def prepare_data(self, idx: int):
        """Check the image file, run the pipeline, check the packed mask.

        Args:
            idx (int): Sample index.

        Returns:
            Any: The pipeline's output.

        Raises:
            ValueError: The image is empty or truncated, or the packed mask
                has values that are neither classes nor ``ignore_index``;
                the message names the file.
        """
        data_info = self.get_data_info(idx)
        path = data_info['img_path']
        check_image_bytes(fileio.get(path, self.backend_args), path)
        results = self.pipeline(data_info)
        self._check_mask_values(results, data_info.get('seg_map_path'))
        return results

    def _check_mask_values(self, results, seg_map_path: Optional[str]):
        """Reject a packed ``gt_sem_seg`` with values outside the classes.

        mmseg's ``IoUMetric`` drops such values without a word, so a mask
        in another encoding (e.g. an RGB colour index) would give a wrong
        mIoU instead of an error.
        """
        sample = results.get('data_samples') if isinstance(results,
                                                           dict) else None
        if sample is None or 'gt_sem_seg' not in sample:
            return
        seg = sample.gt_sem_seg.data
        num_classes = len(self.metainfo['classes'])
        bad = seg[(seg >= num_classes) & (seg != self.ignore_index)]
        if bad.numel():
            raise ValueError(
                f'mask {seg_map_path} has values {bad.unique().tolist()} '
                f'that are neither classes (0..{num_classes - 1}) nor '
                f'ignore_index {self.ignore_index}')
