# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A miniature PASCAL VOC 2012 devkit and SBD release, in their published
layouts, with the outputs a correct converter must write.

Use::

    from mini_devkit import make_mini_devkit
    devkit, sbd, truth = make_mini_devkit(tmp_path)
    # python tools/dataset_converters/voc_wsss.py {devkit} {sbd}
    data_root = f'{devkit}/VOC2012'     # then --data-root {data_root}

``devkit`` is the ``VOCdevkit`` folder and ``sbd`` the ``benchmark_RELEASE``
folder; ``truth`` (:class:`Truth`) holds the expected ``train_aug`` names,
``SegmentationClassAug`` masks and ``cls_labels.npy`` vectors. The images
(48-64 px, flat shapes on noise, 18 in all) are small enough for the toy
configs (``configs/toy/``), which read the converted root as they read the
toy set. :func:`make_mini_archives` packs the two folders as the files one
downloads (``VOCtrainval_11-May-2012.tar``, ``benchmark.tgz``).

What is written::

    VOCdevkit/VOC2012/
        JPEGImages/{name}.jpg              every image
        Annotations/{name}.xml             every image; real class names,
                                           difficult and truncated objects,
                                           person parts (<part><name>hand)
        SegmentationClass/{name}.png       VOC seg train + val, VOC palette,
                                           255 band along label boundaries
        SegmentationObject/{name}.png      the same images, instance ids
        ImageSets/Segmentation/{train,val,trainval}.txt
        ImageSets/Main/{train,val,trainval}.txt, {class}_{split}.txt
    benchmark_RELEASE/dataset/
        img/{name}.jpg                     SBD's images
        cls/{name}.mat                     GTcls struct: Segmentation (uint8
                                           HxW, no 255 band), Boundaries (20
                                           sparse maps), CategoriesPresent
        inst/{name}.mat                    GTinst struct
        train.txt, val.txt

The groups of images (see :data:`GROUPS`) cover each case of the
``train_aug`` rule ``(VOC train + SBD train + SBD val) - VOC val``: VOC
train only, VOC train also in SBD (whose SBD mask differs from VOC's, so a
converter that takes SBD's mask where VOC has one is caught), SBD only, VOC
val also in SBD train or val (excluded from ``train_aug``), and
detection-only images (annotated, in ``ImageSets/Main``, in no segmentation
split and not in SBD).
"""
import os
import os.path as osp
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple, Tuple

import numpy as np
import scipy.io
import scipy.sparse
from PIL import Image, ImageDraw

from mmseg_wsss.utils import IGNORE_INDEX, VOC_CLASSES, voc_palette

VOC_FG = VOC_CLASSES[1:]

# name -> objects (class, difficult, truncated); group -> names. Every image
# has 1 to 3 classes; some repeat a class, some have a difficult or
# truncated object; 2007_000129 has a person with parts.
IMAGES = {
    # VOC seg train only
    '2007_000032': [('aeroplane', 0, 0), ('aeroplane', 0, 1),
                    ('person', 0, 0)],
    '2007_000039': [('tvmonitor', 0, 0)],
    # VOC seg train, also in SBD train
    '2007_000063': [('dog', 0, 0), ('chair', 1, 0)],
    '2007_000068': [('bird', 0, 0)],
    # VOC seg train, also in SBD val
    '2007_000121': [('tvmonitor', 0, 0), ('pottedplant', 0, 1),
                    ('sofa', 0, 0)],
    # VOC seg val only
    '2007_000033': [('aeroplane', 0, 0)],
    '2007_000042': [('train', 0, 0), ('person', 0, 1)],
    # VOC seg val, also in SBD train / SBD val: never in train_aug
    '2007_000129': [('bicycle', 0, 0), ('person', 0, 0)],
    '2007_000170': [('bottle', 0, 0), ('diningtable', 0, 1)],
    # SBD train only
    '2008_000002': [('tvmonitor', 0, 0)],
    '2008_000003': [('train', 0, 0), ('person', 0, 0), ('person', 1, 0)],
    '2008_000007': [('car', 0, 1)],
    '2008_000008': [('horse', 0, 0), ('person', 0, 0)],
    # SBD val only
    '2008_000009': [('cow', 0, 0), ('cow', 0, 0)],
    '2008_000016': [('bus', 0, 0), ('car', 1, 1)],
    '2008_000019': [('cat', 0, 0)],
    # detection only: annotated, in no segmentation split, not in SBD
    '2008_000021': [('boat', 0, 0)],
    '2008_000023': [('sheep', 0, 0), ('motorbike', 0, 0)],
}
GROUPS = dict(
    voc_train_only=['2007_000032', '2007_000039'],
    voc_train_sbd_train=['2007_000063', '2007_000068'],
    voc_train_sbd_val=['2007_000121'],
    voc_val_only=['2007_000033', '2007_000042'],
    voc_val_sbd_train=['2007_000129'],
    voc_val_sbd_val=['2007_000170'],
    sbd_train_only=[
        '2008_000002', '2008_000003', '2008_000007', '2008_000008'
    ],
    sbd_val_only=['2008_000009', '2008_000016', '2008_000019'],
    detection_only=['2008_000021', '2008_000023'],
)
PERSON_WITH_PARTS = '2007_000129'
MIN_SIZE, MAX_SIZE = 48, 64


def _split(*groups: str) -> List[str]:
    return sorted(n for g in groups for n in GROUPS[g])


VOC_TRAIN = _split('voc_train_only', 'voc_train_sbd_train',
                   'voc_train_sbd_val')
VOC_VAL = _split('voc_val_only', 'voc_val_sbd_train', 'voc_val_sbd_val')
SBD_TRAIN = _split('voc_train_sbd_train', 'voc_val_sbd_train',
                   'sbd_train_only')
SBD_VAL = _split('voc_train_sbd_val', 'voc_val_sbd_val', 'sbd_val_only')


@dataclass
class Truth:
    """What a correct converter writes for the miniature devkit + SBD.

    Attributes:
        train_aug (list[str]): ``train_aug.txt``'s names, sorted.
        train (list[str]): VOC seg ``train``.
        val (list[str]): VOC seg ``val``.
        masks (dict[str, np.ndarray]): ``SegmentationClassAug`` content,
            uint8 (H, W), for every ``train_aug`` and ``val`` image: VOC's
            mask (with its 255 band) where VOC has one, else SBD's.
        labels (dict[str, np.ndarray]): ``cls_labels.npy`` content, float32
            (20,), from the XML objects (difficult and truncated included)
            of every ``train_aug``, ``train`` and ``val`` image.
        part_counts (dict[str, int]): Images in VOC train, SBD train, SBD
            val and VOC val.
        detection_only (list[str]): Annotated images in no segmentation
            split; the converter writes nothing for them.
    """
    train_aug: List[str]
    train: List[str]
    val: List[str]
    masks: Dict[str, np.ndarray] = field(repr=False)
    labels: Dict[str, np.ndarray] = field(repr=False)
    part_counts: Dict[str, int]
    detection_only: List[str]


class MiniDevkit(NamedTuple):
    """The result of :func:`make_mini_devkit`."""
    vocdevkit: str
    sbd_release: str
    truth: Truth


def _boundary(label: np.ndarray) -> np.ndarray:
    """Pixels with a differently labelled 8-neighbour: VOC's void band."""
    padded = np.pad(label, 1, mode='edge')
    h, w = label.shape
    band = np.zeros(label.shape, dtype=bool)
    for dy in range(3):
        for dx in range(3):
            band |= padded[dy:dy + h, dx:dx + w] != label
    return band


def _class_colour(cls: int) -> np.ndarray:
    """A bright, class-specific RGB colour (VOC's palette, lifted)."""
    colour = np.array(voc_palette()[3 * cls:3 * cls + 3])
    return np.clip(colour * 0.6 + 90, 0, 255)


def _draw_once(rng: np.random.Generator, objects: list, h: int, w: int):
    """One try of :func:`_draw`."""
    img = rng.normal(120, 25, size=(h, w, 3))
    label = np.zeros((h, w), dtype=np.uint8)
    instance = np.zeros((h, w), dtype=np.int32)
    boxes = [None] * len(objects)
    # small (difficult) objects last, so that they are not painted over
    order = sorted(range(len(objects)), key=lambda i: objects[i][1])
    for i in order:
        name, difficult, truncated = objects[i]
        cls = VOC_CLASSES.index(name)
        side = (0.25 if difficult else 0.5) * min(h, w)
        bw, bh = side * rng.uniform(0.8, 1.25, size=2)
        # a truncated object runs over the left edge
        x0 = -bw / 3 if truncated else rng.uniform(0, w - bw)
        y0 = rng.uniform(0, h - bh)
        canvas = Image.new('L', (w, h), 0)
        draw = ImageDraw.Draw(canvas)
        box = [x0, y0, x0 + bw, y0 + bh]
        if cls % 3 == 0:
            draw.rectangle(box, fill=1)
        elif cls % 3 == 1:
            draw.ellipse(box, fill=1)
        else:
            draw.polygon([(x0 + bw / 2, y0), (x0 + bw, y0 + bh),
                          (x0, y0 + bh)],
                         fill=1)
        mask = np.asarray(canvas, dtype=bool)
        img[mask] = _class_colour(cls) + rng.normal(0, 8, size=(mask.sum(), 3))
        label[mask] = cls
        instance[mask] = i + 1
        ys, xs = np.nonzero(mask)
        boxes[i] = (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1,
                    int(ys.max()) + 1)
    return np.clip(img, 0, 255).astype(np.uint8), label, instance, boxes


def _draw(rng: np.random.Generator, objects: list):
    """Draw one image of flat class-coloured shapes on a noisy background,
    redrawn until every object shows at least 30 pixels.

    Returns:
        tuple: RGB uint8 (H, W, 3); class label uint8 (H, W) without the
        void band; instance ids int32 (H, W) (0 for none); the (1-based,
        inclusive) box of each object.
    """
    h, w = (int(v) for v in rng.integers(MIN_SIZE, MAX_SIZE + 1, size=2))
    while True:
        drawn = _draw_once(rng, objects, h, w)
        instance = drawn[2]
        if all((instance == i + 1).sum() >= 30 for i in range(len(objects))):
            return drawn


def _xml(name: str, shape: tuple, objects: list, boxes: list,
         segmented: bool) -> bytes:
    """A VOC 2012 XML annotation."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'VOC2012'
    ET.SubElement(root, 'filename').text = f'{name}.jpg'
    source = ET.SubElement(root, 'source')
    ET.SubElement(source, 'database').text = 'The VOC2007 Database'
    ET.SubElement(source, 'annotation').text = 'PASCAL VOC2007'
    ET.SubElement(source, 'image').text = 'flickr'
    size = ET.SubElement(root, 'size')
    for key, value in zip(('width', 'height', 'depth'),
                          (shape[1], shape[0], shape[2])):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(root, 'segmented').text = str(int(segmented))
    for (cls_name, difficult, truncated), box in zip(objects, boxes):
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = cls_name
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = str(truncated)
        ET.SubElement(obj, 'difficult').text = str(difficult)
        bndbox = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
            ET.SubElement(bndbox, key).text = str(value)
        if cls_name == 'person' and name == PERSON_WITH_PARTS:
            # VOC's person layout: part names are not classes
            for part_name in ('head', 'hand'):
                part = ET.SubElement(obj, 'part')
                ET.SubElement(part, 'name').text = part_name
                part_box = ET.SubElement(part, 'bndbox')
                for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
                    ET.SubElement(part_box, key).text = str(value)
    ET.indent(root, space='\t')
    return ET.tostring(root, encoding='utf-8') + b'\n'


def _sparse_maps(edges: np.ndarray, ids: list) -> np.ndarray:
    """A MATLAB cell (len(ids), 1) of sparse boundary maps, one per id."""
    cell = np.empty((len(ids), 1), dtype=object)
    for i, value in enumerate(ids):
        cell[i, 0] = scipy.sparse.csc_matrix(edges == value)
    return cell


def _write_sbd(dataset_dir: str, name: str, label: np.ndarray,
               instance: np.ndarray, objects: list) -> None:
    """SBD's ``cls/{name}.mat`` and ``inst/{name}.mat`` of one image."""
    edges = np.where(_boundary(label), label, 0)
    present = sorted(set(np.unique(label).tolist()) - {0})
    gt_cls = dict(
        Boundaries=_sparse_maps(edges, list(range(1,
                                                  len(VOC_FG) + 1))),
        Segmentation=label.astype(np.uint8),
        CategoriesPresent=np.array(present, dtype=np.uint8).reshape(-1, 1))
    scipy.io.savemat(
        osp.join(dataset_dir, 'cls', f'{name}.mat'), dict(GTcls=gt_cls))
    ids = list(range(1, len(objects) + 1))
    inst_edges = np.where(_boundary(instance), instance, 0)
    gt_inst = dict(
        Segmentation=instance.astype(np.uint8),
        Boundaries=_sparse_maps(inst_edges, ids),
        Categories=np.array([VOC_CLASSES.index(o[0]) for o in objects],
                            dtype=np.uint8).reshape(-1, 1))
    scipy.io.savemat(
        osp.join(dataset_dir, 'inst', f'{name}.mat'), dict(GTinst=gt_inst))


def _write_lines(path: str, lines: List[str]) -> None:
    with open(path, 'w', newline='\n') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def _palette_png(array: np.ndarray, path: str) -> None:
    img = Image.fromarray(array.astype(np.uint8))
    img.putpalette(voc_palette())
    img.save(path)


def make_mini_devkit(root, seed: int = 0) -> MiniDevkit:
    """Write ``root/VOCdevkit`` and ``root/benchmark_RELEASE``.

    Args:
        root (str | Path): An existing directory.
        seed (int): Random seed of the images. Defaults to 0.

    Returns:
        MiniDevkit: ``(vocdevkit, sbd_release, truth)``, the paths of the
        ``VOCdevkit`` and ``benchmark_RELEASE`` folders and the
        :class:`Truth` of their conversion.
    """
    root = str(root)
    voc = osp.join(root, 'VOCdevkit', 'VOC2012')
    sbd = osp.join(root, 'benchmark_RELEASE')
    sbd_data = osp.join(sbd, 'dataset')
    for sub in ('JPEGImages', 'Annotations', 'SegmentationClass',
                'SegmentationObject', 'ImageSets/Segmentation',
                'ImageSets/Main'):
        os.makedirs(osp.join(voc, sub))
    for sub in ('img', 'cls', 'inst'):
        os.makedirs(osp.join(sbd_data, sub))

    rng = np.random.default_rng(seed)
    voc_seg = set(VOC_TRAIN) | set(VOC_VAL)
    in_sbd = set(SBD_TRAIN) | set(SBD_VAL)
    masks, labels = {}, {}
    for name, objects in IMAGES.items():
        img, label, instance, boxes = _draw(rng, objects)
        jpg = osp.join(voc, 'JPEGImages', f'{name}.jpg')
        Image.fromarray(img).save(jpg, quality=90)
        with open(osp.join(voc, 'Annotations', f'{name}.xml'), 'wb') as f:
            f.write(_xml(name, img.shape, objects, boxes, name in voc_seg))
        vec = np.zeros(len(VOC_FG), dtype=np.float32)
        for cls_name, _, _ in objects:
            vec[VOC_FG.index(cls_name)] = 1
        labels[name] = vec
        if name in in_sbd:
            with open(jpg, 'rb') as src, open(
                    osp.join(sbd_data, 'img', f'{name}.jpg'), 'wb') as dst:
                dst.write(src.read())
            _write_sbd(sbd_data, name, label, instance, objects)
            masks[name] = label
        if name in voc_seg:
            band = _boundary(label)
            voc_label = np.where(band, IGNORE_INDEX, label)
            _palette_png(voc_label,
                         osp.join(voc, 'SegmentationClass', f'{name}.png'))
            _palette_png(
                np.where(band | _boundary(instance), IGNORE_INDEX, instance),
                osp.join(voc, 'SegmentationObject', f'{name}.png'))
            masks[name] = voc_label.astype(np.uint8)

    seg_dir = osp.join(voc, 'ImageSets', 'Segmentation')
    _write_lines(osp.join(seg_dir, 'train.txt'), VOC_TRAIN)
    _write_lines(osp.join(seg_dir, 'val.txt'), VOC_VAL)
    _write_lines(osp.join(seg_dir, 'trainval.txt'), sorted(voc_seg))
    main_splits = dict(
        train=sorted(VOC_TRAIN + GROUPS['detection_only'][:1]),
        val=sorted(VOC_VAL + GROUPS['detection_only'][1:]))
    main_splits['trainval'] = sorted(main_splits['train'] + main_splits['val'])
    main_dir = osp.join(voc, 'ImageSets', 'Main')
    for split, names in main_splits.items():
        _write_lines(osp.join(main_dir, f'{split}.txt'), names)
        for cls_name in VOC_FG:
            # VOC's flags: 1 present, 0 only difficult, -1 absent
            rows = []
            for n in names:
                flags = [d for c, d, _ in IMAGES[n] if c == cls_name]
                flag = -1 if not flags else 0 if all(flags) else 1
                rows.append(f'{n} {flag:2d}')
            _write_lines(osp.join(main_dir, f'{cls_name}_{split}.txt'), rows)
    _write_lines(osp.join(sbd_data, 'train.txt'), SBD_TRAIN)
    _write_lines(osp.join(sbd_data, 'val.txt'), SBD_VAL)

    train_aug = sorted((set(VOC_TRAIN) | in_sbd) - set(VOC_VAL))
    keep = set(train_aug) | set(VOC_VAL)
    truth = Truth(
        train_aug=train_aug,
        train=list(VOC_TRAIN),
        val=list(VOC_VAL),
        masks={
            n: m
            for n, m in masks.items() if n in keep
        },
        labels={
            n: v
            for n, v in labels.items() if n in keep
        },
        part_counts=dict(
            voc_train=len(VOC_TRAIN),
            sbd_train=len(SBD_TRAIN),
            sbd_val=len(SBD_VAL),
            voc_val=len(VOC_VAL)),
        detection_only=list(GROUPS['detection_only']))
    return MiniDevkit(osp.join(root, 'VOCdevkit'), sbd, truth)


def make_mini_archives(root, seed: int = 0) -> Tuple[str, str, Truth]:
    """The miniature devkit and SBD as downloaded: the two archives.

    Writes ``root/VOCtrainval_11-May-2012.tar`` (holding ``VOCdevkit/``)
    and ``root/benchmark.tgz`` (holding ``benchmark_RELEASE/``), built from
    :func:`make_mini_devkit` in ``root/src``.

    Returns:
        tuple: The two archive paths and the :class:`Truth`.
    """
    src = osp.join(str(root), 'src')
    os.makedirs(src)
    vocdevkit, sbd, truth = make_mini_devkit(src, seed)
    voc_tar = osp.join(str(root), 'VOCtrainval_11-May-2012.tar')
    sbd_tgz = osp.join(str(root), 'benchmark.tgz')
    with tarfile.open(voc_tar, 'w') as tar:
        tar.add(vocdevkit, arcname='VOCdevkit')
    with tarfile.open(sbd_tgz, 'w:gz') as tar:
        tar.add(sbd, arcname='benchmark_RELEASE')
    return voc_tar, sbd_tgz, truth
