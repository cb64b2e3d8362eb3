# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""MS COCO 2014 instance annotations -> the WSSS layout of
:class:`~mmseg_wsss.datasets.WeakCOCODataset`.

Reads ``COCO_ROOT/annotations/instances_{train,val}2014.json`` with
pycocotools and writes into ``out_dir`` (default ``COCO_ROOT``)::

    SegmentationClass/{name}.png   0 background, 1..80 the class in the order
                                   of COCO's category ids (1..90 with gaps),
                                   255 on crowd regions no object covers
                                   (0 with crowd_as_background); where
                                   objects overlap, the later annotation in
                                   the file wins
    cls_labels.npy                 name -> float32 (80,): a class is present
                                   when any annotation of it is, crowd too
    ImageSets/train.txt            every train2014 image (those without any
                                   annotation too, unless skip_empty_train)
    ImageSets/val.txt              every val2014 image

``name`` is the image's file stem (``COCO_train2014_000000000009``).
"""
import io
import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_parallel_progress, track_progress
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmseg_wsss.utils import (IGNORE_INDEX, encode_palette_png, show_names,
                              voc_palette, write_file_atomically)
from .coco_wsss import WeakCOCODataset
from .label_sources import load_cls_labels

SPLITS = ('train2014', 'val2014')
MASK_DIR = 'SegmentationClass'
CLS_LABELS_FILE = 'cls_labels.npy'
# what the masks were painted with; a rerun with other settings must not mix
SETTINGS_FILE = osp.join(MASK_DIR, '.coco_wsss.json')
# COCO's 80 category ids, in order: label k + 1 (mask) / k (vector) is the
# k-th of them
COCO_CATEGORY_IDS = (
    tuple(range(1, 12)) + tuple(range(13, 26)) + (27, 28) +
    tuple(range(31, 45)) + tuple(range(46, 66)) + (67, 70) +
    tuple(range(72, 83)) + tuple(range(84, 91)))
COCO_CLASSES = WeakCOCODataset.METAINFO['classes'][1:]
# (category label 1..80, is crowd, segmentation) of one annotation
Instance = Tuple[int, bool, object]


def annotation_mask(segmentation, height: int, width: int) -> np.ndarray:
    """The binary mask of a COCO ``segmentation`` (polygons or RLE).

    As pycocotools' ``COCO.annToMask``, without the ``COCO`` object (a
    worker process gets the annotation only).

    Args:
        segmentation (list | dict): Polygons ``[[x0, y0, x1, y1, ...], ...]``,
            an uncompressed RLE (``counts`` a list) or a compressed one.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: bool (H, W).
    """
    if isinstance(segmentation, list):
        rle = mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get('counts'), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


def paint_instances(instances: Sequence[Instance],
                    height: int,
                    width: int,
                    crowd_as_background: bool = False,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """The class mask of an image from its annotations.

    Non-crowd objects are painted with their label in the given order, so
    a later one wins where they overlap; crowd regions that no object
    covers get ``ignore_index``, or stay background with
    ``crowd_as_background`` (as ReCAM's COCO masks).

    Args:
        instances (Sequence[tuple]): ``(label 1..C, is_crowd,
            segmentation)`` in the annotation file's order.
        height (int): Image height.
        width (int): Image width.
        crowd_as_background (bool): Leave crowd regions background.
            Defaults to False.
        ignore_index (int): Label of crowd regions. Defaults to 255.

    Returns:
        np.ndarray: uint8 (H, W).
    """
    label = np.zeros((height, width), np.uint8)
    crowd = np.zeros((height, width), bool)
    for cls, is_crowd, segmentation in instances:
        region = annotation_mask(segmentation, height, width)
        if is_crowd:
            crowd |= region
        else:
            label[region] = cls
    if not crowd_as_background:
        label[crowd & (label == 0)] = ignore_index
    return label


def image_labels(
    instances: Sequence[Instance], num_classes: int = len(COCO_CLASSES)
) -> np.ndarray:
    """float32 (C,) multi-hot vector of the annotations' classes (crowd
    included)."""
    vec = np.zeros(num_classes, np.float32)
    for cls, _, _ in instances:
        vec[cls - 1] = 1
    return vec


def _paint_one(task: tuple) -> str:
    """Write one mask; ``task`` = (out_path, instances, height, width,
    crowd_as_background, palette)."""
    out_path, instances, height, width, crowd_as_background, palette = task
    label = paint_instances(instances, height, width, crowd_as_background)
    write_file_atomically(encode_palette_png(label, palette), out_path)
    return out_path


def category_labels(categories: List[dict], ann_file: str) -> Dict[int, int]:
    """COCO category id -> label 1..80, checking the file's categories.

    A category is mapped by its id; a name other than COCO's for that id
    (an older spelling, a renamed class) is warned about, not refused.

    Raises:
        ValueError: A category has an id that is not one of COCO's 80; the
            message names the file.
    """
    id_to_label = {cid: i + 1 for i, cid in enumerate(COCO_CATEGORY_IDS)}
    for cat in categories:
        label = id_to_label.get(cat['id'])
        if label is None:
            raise ValueError(
                f'{ann_file}: category id {cat["id"]} ({cat["name"]!r}) is '
                'not one of the 80 COCO 2014 categories; other class sets: '
                'tools/dataset_converters/make_cls_labels.py and '
                'docs/user_guides/11_own_data.md')
        if COCO_CLASSES[label - 1] != cat['name']:
            warnings.warn(
                f'{ann_file}: category id {cat["id"]} is named '
                f'{cat["name"]!r}, COCO calls it '
                f'{COCO_CLASSES[label - 1]!r}; it becomes label {label} by '
                'its id')
    return id_to_label


def read_split(coco_root: str, split: str) -> Tuple[List[dict], Dict]:
    """The images of a split (sorted by id) and their instances.

    Returns:
        tuple: ``images`` (the JSON's image dicts) and ``instances`` (image
        id -> list of :data:`Instance` in the file's order).

    Raises:
        FileNotFoundError: The annotation file or an image it names is
            missing; the message names them.
    """
    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'annotation file {ann_file} not found: COCO_ROOT must hold '
            f'annotations/instances_{{train,val}}2014.json from '
            'annotations_trainval2014.zip')
    coco = COCO(ann_file)
    id_to_label = category_labels(coco.loadCats(coco.getCatIds()), ann_file)
    images = [coco.imgs[i] for i in sorted(coco.imgs)]
    missing = [
        osp.join(coco_root, split, img['file_name']) for img in images
        if not osp.isfile(osp.join(coco_root, split, img['file_name']))
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} images that {ann_file} names are missing: '
            f'{show_names(missing)}')
    instances = {}
    for img in images:
        # getAnnIds keeps the file's order
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        unknown = [
            a['category_id'] for a in anns
            if a['category_id'] not in id_to_label
        ]
        if unknown:
            raise ValueError(
                f'{ann_file}: image {img["file_name"]} has annotations of '
                f'category ids {unknown}, which are not COCO categories')
        instances[img['id']] = [(id_to_label[a['category_id']],
                                 bool(a.get('iscrowd', 0)), a['segmentation'])
                                for a in anns]
    return images, instances


def _write_if_changed(content: bytes, path: str) -> None:
    if osp.isfile(path):
        with open(path, 'rb') as f:
            if f.read() == content:
                return
    write_file_atomically(content, path)


def convert_coco(coco_root: str,
                 out_dir: Optional[str] = None,
                 nproc: int = 1,
                 crowd_as_background: bool = False,
                 skip_empty_train: bool = False) -> Dict[str, int]:
    """Write masks, ``cls_labels.npy`` and the split lists of COCO 2014.

    Idempotent: masks that exist are kept, the other files are rewritten
    only when their content changes, every file is written atomically; an
    interrupted run leaves whole files only and a rerun finishes the work.

    Args:
        coco_root (str): Holds ``train2014/``, ``val2014/`` and
            ``annotations/instances_{train,val}2014.json``.
        out_dir (str, optional): Output folder. Defaults to None, meaning
            ``coco_root``.
        nproc (int): Worker processes for the masks. Defaults to 1.
        crowd_as_background (bool): Crowd regions become background, not
            255 (ReCAM's masks). Defaults to False.
        skip_empty_train (bool): Leave train2014 images without any
            annotation out of ``ImageSets/train.txt``. Defaults to False.

    Returns:
        dict: ``train`` and ``val`` (images listed), ``masks_written``,
        ``masks_kept``.

    Raises:
        FileNotFoundError: An annotation file or image is missing.
        ValueError: A category is not COCO's, or existing masks were made
            with the other crowd setting.
    """
    out_dir = coco_root if out_dir is None else out_dir
    settings = json.dumps(
        dict(crowd_as_background=crowd_as_background), sort_keys=True)
    settings_path = osp.join(out_dir, SETTINGS_FILE)
    if osp.isfile(settings_path):
        with open(settings_path) as f:
            old = f.read()
        if old != settings:
            raise ValueError(
                f'the masks in {osp.join(out_dir, MASK_DIR)} were written '
                f'with {old}, not {settings}; delete that folder (or use '
                'another --out) to convert again')
    palette = voc_palette(WeakCOCODataset.METAINFO['palette'])
    labels, lists, tasks, total = {}, {}, [], 0
    for split in SPLITS:
        images, instances = read_split(coco_root, split)
        names = []
        for img in images:
            name = osp.splitext(img['file_name'])[0]
            insts = instances[img['id']]
            labels[name] = image_labels(insts)
            if split == 'train2014' and skip_empty_train and not insts:
                continue
            names.append(name)
            total += 1
            out_path = osp.join(out_dir, MASK_DIR, f'{name}.png')
            if not osp.exists(out_path):
                tasks.append((out_path, insts, img['height'], img['width'],
                              crowd_as_background, palette))
        lists[split[:-4]] = names
    _write_if_changed(settings.encode(), settings_path)
    if tasks:
        print_log(
            f'writing {len(tasks)} masks to {osp.join(out_dir, MASK_DIR)}',
            'current')
        if nproc > 1:
            track_parallel_progress(_paint_one, tasks, nproc)
        else:
            track_progress(_paint_one, tasks)

    labels_file = osp.join(out_dir, CLS_LABELS_FILE)
    buf = io.BytesIO()
    np.save(buf, labels, allow_pickle=True)
    if not _same_labels(labels_file, labels):
        write_file_atomically(buf.getvalue(), labels_file)
    for split, names in lists.items():
        _write_if_changed(''.join(f'{n}\n' for n in names).encode(),
                          osp.join(out_dir, 'ImageSets', f'{split}.txt'))
    counts = dict(
        train=len(lists['train']),
        val=len(lists['val']),
        masks_written=len(tasks),
        masks_kept=total - len(tasks))
    print_log(
        f'{out_dir}: ImageSets/train.txt ({counts["train"]} images), '
        f'ImageSets/val.txt ({counts["val"]}), {MASK_DIR} '
        f'({counts["masks_written"]} written, {counts["masks_kept"]} kept), '
        f'{CLS_LABELS_FILE} ({len(labels)} images)', 'current')
    return counts


def _same_labels(path: str, labels: Dict[str, np.ndarray]) -> bool:
    """Whether the class label file at ``path`` holds exactly ``labels``."""
    if not osp.isfile(path):
        return False
    try:
        old = load_cls_labels(path, num_classes=len(COCO_CLASSES))
    except ValueError:
        return False
    return old.keys() == labels.keys() and all(
        np.array_equal(old[k], v) for k, v in labels.items())
