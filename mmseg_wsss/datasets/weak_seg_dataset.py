# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A segmentation data set with image-level labels, for any class set."""
import os.path as osp
import warnings
from typing import List, Optional

import mmengine.fileio as fileio
import numpy as np
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmseg_wsss.utils import label_colours, read_split_names, show_names
from .integrity import check_image_bytes, check_mask_matches_image
from .label_sources import labels_from_mask, labels_from_xml, load_cls_labels

LABEL_SOURCES = ('auto', 'cls_labels', 'xml', 'mask')
# (source, file or folder) pairs already logged by this process: the
# datasets of one config that read the same labels say so once
_LOGGED_LABEL_SOURCES = set()


@DATASETS.register_module()
class WeakSegDataset(BaseSegDataset):
    """A segmentation data set with image-level labels, for WSSS.

    The classes and palette come from ``metainfo`` as in mmseg's
    :class:`BaseSegDataset`; ``classes[0]`` is the background, and the image
    labels are multi-hot vectors over the others (``C = len(classes) - 1``,
    in ``classes`` order). :class:`WeakVOCDataset` and
    :class:`WeakCOCODataset` are this class with their ``METAINFO`` and
    layout; your own data set is this class with your classes::

        dict(type='WeakSegDataset',
             metainfo=dict(classes=('background', 'cat', 'dog')),
             data_root='data/pets', ann_file='ImageSets/train.txt', ...)

    The layout is VOC's unless ``data_prefix`` says otherwise::

        data_root/
            JPEGImages/{name}.jpg
            SegmentationClass/{name}.png       (optional: index masks)
            Annotations/{name}.xml             (optional: VOC-style XML)
            ImageSets/Segmentation/{split}.txt
            cls_labels.npy                     (optional, IRN style)

    Every sample's data info holds ``img_path``, ``seg_map_path`` (None when
    ``data_prefix['seg_map_path']`` is None or the mask file does not exist,
    as for most of VOC's ``train_aug``: the pipeline must then not load
    annotations), ``img_labels`` (float32, (C,), foreground classes in
    ``classes`` order without background), ``label_map``,
    ``reduce_zero_label`` and ``seg_fields``.

    Loading, per split: read names (CRLF tolerated, blank lines skipped,
    DeepLab-style ``/JPEGImages/x.jpg /Seg.../x.png`` lines reduced to
    ``x``) -> reject duplicates -> check every image exists -> check that
    every mask is an index image of its image's size (headers only) ->
    image labels from the chosen source -> keep, skip (with a warning) or
    reject images without any foreground label. At fetch time
    :meth:`prepare_data` checks that the image file is not empty or
    truncated before the pipeline runs, and that a packed mask holds only
    classes and ``ignore_index``.

    Args:
        ann_file (str): Split file, one image name per line.
        label_source (str): ``'cls_labels'``, ``'xml'``, ``'mask'`` or
            ``'auto'``, which takes the first that exists of the class label
            file, the XML directory, else the masks. Defaults to 'auto'.
        cls_labels_file (str): Class label file (``.npy`` or ``.npz``, see
            :func:`load_cls_labels`; vectors of length C), relative to
            ``data_root``. Defaults to 'cls_labels.npy'.
        xml_dir (str): Directory of the XML annotations, relative to
            ``data_root``; ``<object>`` names must be in ``classes``.
            Defaults to 'Annotations'.
        skip_unlabeled (bool): Whether images without any foreground label
            are skipped with a warning; if False they raise. Defaults to
            True.
        keep_unlabeled (bool): Keep images without any foreground label as
            negative examples of every class (ReCAM's COCO training), which
            overrides ``skip_unlabeled``. Defaults to False.
        img_suffix (str): Suffix of images. Defaults to '.jpg'.
        seg_map_suffix (str): Suffix of masks. Defaults to '.png'.
        data_prefix (dict): ``img_path`` and ``seg_map_path`` directories;
            ``seg_map_path`` may be None for no masks. Defaults to
            dict(img_path='JPEGImages', seg_map_path='SegmentationClass').
        **kwargs: Other arguments of :class:`BaseSegDataset`. ``metainfo``
            gives the classes (background first) and palette (default: VOC's
            colour map, :func:`~mmseg_wsss.utils.label_colours`); a subclass
            with its own ``METAINFO`` keeps its classes, since its label
            files are in their order.
    """
    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str,
                 label_source: str = 'auto',
                 cls_labels_file: str = 'cls_labels.npy',
                 xml_dir: str = 'Annotations',
                 skip_unlabeled: bool = True,
                 keep_unlabeled: bool = False,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 **kwargs) -> None:
        name = type(self).__name__
        if label_source not in LABEL_SOURCES:
            raise ValueError(f'label_source must be one of {LABEL_SOURCES}, '
                             f'got {label_source!r}')
        if not ann_file:
            raise ValueError(f'{name} needs ann_file (a split file)')
        classes = (kwargs.get('metainfo') or {}).get('classes')
        own = self.METAINFO.get('classes')
        if own is None and classes is None:
            raise ValueError(
                f'{name} needs metainfo=dict(classes=(...)): the class '
                'names, background first')
        if own is not None and classes is not None and tuple(classes) != tuple(
                own):
            raise ValueError(
                f'{name} keeps its {len(own)} classes (its image labels are '
                f'in their order); metainfo classes {classes} differ. Use '
                'WeakSegDataset with metainfo=dict(classes=...) for another '
                'class set')
        if len(classes if own is None else own) < 2:
            raise ValueError(
                f'{name}: metainfo classes {classes} need the background '
                'and at least one foreground class')
        if own is None and not kwargs['metainfo'].get('palette'):
            # VOC's colour map for any class set (mmseg would draw a
            # random palette)
            kwargs['metainfo'] = dict(
                kwargs['metainfo'],
                palette=[list(c) for c in label_colours(len(classes))])
        self.keep_unlabeled = keep_unlabeled
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
        """Image names of the split file."""
        return read_split_names(self.ann_file, self.img_suffix,
                                self.backend_args)

    def _resolve_label_source(self) -> str:
        """The label source to use: ``label_source`` with 'auto' resolved."""
        if self.label_source != 'auto':
            return self.label_source
        if fileio.exists(self.cls_labels_file, self.backend_args):
            return 'cls_labels'
        if fileio.isdir(self.xml_dir, self.backend_args):
            return 'xml'
        return 'mask'

    def _log_label_source(self, source: str) -> None:
        """Log once per process where the image labels come from."""
        origin = dict(
            cls_labels=self.cls_labels_file,
            xml=self.xml_dir,
            mask=self.data_prefix.get('seg_map_path'))[source]
        if (source, origin) in _LOGGED_LABEL_SOURCES:
            return
        _LOGGED_LABEL_SOURCES.add((source, origin))
        how = ('' if self.label_source != 'auto' else
               " (label_source='auto': the first of the class label file, "
               'the XML folder and the masks that exists)')
        print_log(
            f'{type(self).__name__}: image labels from {source}, {origin}'
            f'{how}',
            logger='current')

    def _img_path(self, name: str) -> str:
        """The image path of an image name."""
        return osp.join(self.data_prefix['img_path'], name + self.img_suffix)

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

    @property
    def num_fg_classes(self) -> int:
        """Foreground classes ``C``: the length of the image labels."""
        return len(self.metainfo['classes']) - 1

    def _image_labels(self, source: str, names: List[str],
                      seg_map_paths: List[Optional[str]]) -> List[np.ndarray]:
        """The label vector of each image, read from ``source``."""
        if source == 'cls_labels':
            table = load_cls_labels(self.cls_labels_file, self.backend_args,
                                    self.num_fg_classes)
            missing = [n for n in names if n not in table]
            if missing:
                raise KeyError(
                    f'class label file {self.cls_labels_file} has no entry '
                    f'for images {show_names(missing)}')
            return [table[n] for n in names]
        if source == 'xml':
            return [
                labels_from_xml(
                    self._label_origin(source, n, None), self.backend_args,
                    self.metainfo['classes'][1:]) for n in names
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
                f'{show_names(no_mask)}')
        return [
            labels_from_mask(p, self.backend_args, self.ignore_index,
                             self.num_fg_classes) for p in seg_map_paths
        ]

    def load_data_list(self) -> List[dict]:
        """Load the split's image paths, mask paths and image labels.

        Returns:
            list[dict]: One data info per labelled image, in split order.
        """
        names = self._read_split()
        img_paths = [self._img_path(n) for n in names]
        missing = [
            p for p in img_paths
            if not fileio.exists(p, backend_args=self.backend_args)
        ]
        if missing:
            raise FileNotFoundError(
                f'images listed in {self.ann_file} are missing: '
                f'{show_names(missing)}')
        seg_map_paths = [self._seg_map_path(n) for n in names]
        for img_path, seg_map_path in zip(img_paths, seg_map_paths):
            if seg_map_path is not None:
                check_mask_matches_image(seg_map_path, img_path,
                                         self.backend_args)
        source = self._resolve_label_source()
        self._log_label_source(source)
        all_labels = self._image_labels(source, names, seg_map_paths)

        data_list, unlabeled = [], []
        for name, img_path, seg_map_path, labels in zip(
                names, img_paths, seg_map_paths, all_labels):
            if not labels.any() and not self.keep_unlabeled:
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
                   f'{show_names(unlabeled)}')
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
