# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""PASCAL VOC 2012 + SBD -> the ``train_aug`` layout that the configs read.

Inputs, as published (folders, or the archives they come in)::

    VOCdevkit/VOC2012/                 from VOCtrainval_11-May-2012.tar
        JPEGImages/  Annotations/  SegmentationClass/
        ImageSets/Segmentation/{train,val}.txt
    benchmark_RELEASE/dataset/         from SBD's benchmark.tgz
        cls/{name}.mat                 GTcls struct, .Segmentation (H, W)
        train.txt  val.txt

Outputs, in ``VOCdevkit/VOC2012`` (:func:`convert_voc_aug`)::

    ImageSets/Segmentation/train_aug.txt   (VOC train + SBD train + SBD val)
                                           - VOC val, sorted, one name a line
    SegmentationClassAug/{name}.png        every train_aug and val image:
                                           VOC's mask where VOC has one,
                                           else SBD's; VOC palette
    cls_labels.npy                         name -> float32 (20,), from the
                                           XMLs of train_aug, train and val

mmseg's ``tools/dataset_converters/voc_aug.py`` does not serve: it writes
``trainaug.txt`` (no underscore), asserts exactly 10,582 names, converts
every SBD mask (also those VOC has its own mask for) into grey PNGs, and
writes no image labels.
"""
import io
import logging
import os
import os.path as osp
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import scipy.io
from mmengine.logging import print_log
from mmengine.utils import ProgressBar, track_parallel_progress, track_progress
from PIL import Image

from mmseg_wsss.utils import (IGNORE_INDEX, SPLIT_FILE, encode_palette_png,
                              read_index_png, read_split_names, show_names,
                              voc_palette, write_file_atomically)
from .label_sources import NUM_FG_CLASSES, labels_from_xml, load_cls_labels

#: Images of VOC 2012 train_aug as the literature uses it.
TRAIN_AUG_SIZE = 10582
VOC_ARCHIVE_ROOT = 'VOCdevkit'
SBD_ARCHIVE_ROOT = 'benchmark_RELEASE'
MASK_DIR = 'SegmentationClassAug'
CLS_LABELS_FILE = 'cls_labels.npy'


@dataclass
class VOCAugSplits:
    """The four input splits and ``train_aug``, each a list of names."""
    voc_train: List[str]
    voc_val: List[str]
    sbd_train: List[str]
    sbd_val: List[str]

    @property
    def train_aug(self) -> List[str]:
        """(VOC train + SBD train + SBD val) - VOC val, sorted."""
        union = set(self.voc_train) | set(self.sbd_train) | set(self.sbd_val)
        return sorted(union - set(self.voc_val))

    def describe(self) -> str:
        """The size of each part, for messages."""
        return (f'VOC train {len(self.voc_train)} + SBD train '
                f'{len(self.sbd_train)} + SBD val {len(self.sbd_val)} - VOC '
                f'val {len(self.voc_val)}, each image once')


def _require(path: str, what: str) -> str:
    """``path`` if it exists, else a FileNotFoundError that names it."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{path} not found: {what}')
    return path


def extract_archive(archive: str, root_dir: str) -> str:
    """Extract a tar archive next to itself, unless done before.

    The archive must hold one top folder, ``root_dir``. It is extracted into
    a hidden folder beside the archive and renamed into place when complete,
    so an interrupted extraction is redone, never mistaken for a finished
    one. Members that would land outside the folder (absolute paths,
    ``..``, links out) are refused by tarfile's ``'data'`` filter.

    Args:
        archive (str): Path of a ``.tar``, ``.tgz`` or ``.tar.gz`` file.
        root_dir (str): The folder the archive holds, e.g. 'VOCdevkit'.

    Returns:
        str: The extracted folder, ``dirname(archive)/root_dir``.

    Raises:
        ValueError: The file is not a readable tar archive, or holds
            another top folder; the message names it.
    """
    if not hasattr(tarfile, 'data_filter'):
        raise RuntimeError(
            f'extracting {archive} safely needs Python >= 3.10.12 (tarfile '
            "filters); unpack it with 'tar -xf' and pass the folder")
    parent = osp.dirname(osp.abspath(archive))
    target = osp.join(parent, root_dir)
    if osp.isdir(target):
        print_log(f'{target} exists: {archive} is not extracted again',
                  'current')
        return target
    work = osp.join(parent, f'.{osp.basename(archive)}.extracting')
    if osp.exists(work):
        shutil.rmtree(work)
    print_log(f'extracting {archive} (progress in MiB read)', 'current')
    size_mib = max(1, osp.getsize(archive) >> 20)
    try:
        # stream mode ('r|*'): one sequential read, also of a .tgz
        with open(archive, 'rb') as raw, \
                tarfile.open(fileobj=raw, mode='r|*') as tar:
            bar, done = ProgressBar(size_mib), 0
            for member in tar:
                top = osp.normpath(member.name).split(os.sep)[0]
                if top != root_dir:
                    raise ValueError(
                        f'{archive} holds {member.name!r}, outside '
                        f'{root_dir}/: is it the right archive?')
                tar.extract(member, work, filter='data')
                read = min(raw.tell() >> 20, size_mib)
                if read > done:
                    bar.update(read - done)
                    done = read
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        shutil.rmtree(work, ignore_errors=True)
        raise ValueError(
            f'{archive} is not a readable tar archive: {err}') from err
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    bar.file.write('\n')  # the bar's line ends, as track_progress does
    os.replace(osp.join(work, root_dir), target)
    shutil.rmtree(work)
    return target


def _is_archive(path: str) -> bool:
    return osp.isfile(path) and path.endswith(('.tar', '.tgz', '.tar.gz'))


def find_voc_root(vocdevkit: str) -> str:
    """``VOCdevkit/VOC2012`` from the devkit folder or its tar archive.

    Args:
        vocdevkit (str): The ``VOCdevkit`` folder (its ``VOC2012`` folder is
            accepted too) or ``VOCtrainval_11-May-2012.tar``.

    Returns:
        str: The ``VOC2012`` folder.
    """
    if _is_archive(vocdevkit):
        vocdevkit = extract_archive(vocdevkit, VOC_ARCHIVE_ROOT)
    _require(
        vocdevkit, 'the VOCdevkit folder of '
        'VOCtrainval_11-May-2012.tar, or that archive')
    if osp.isdir(osp.join(vocdevkit, 'JPEGImages')):
        return vocdevkit
    return _require(
        osp.join(vocdevkit, 'VOC2012'),
        f'{vocdevkit} should be the VOCdevkit folder unpacked from '
        'VOCtrainval_11-May-2012.tar')


def find_sbd_dataset(sbd_release: str) -> str:
    """``benchmark_RELEASE/dataset`` from the folder or ``benchmark.tgz``.

    Args:
        sbd_release (str): The ``benchmark_RELEASE`` folder (its
            ``dataset`` folder is accepted too) or ``benchmark.tgz``.

    Returns:
        str: The ``dataset`` folder.
    """
    if _is_archive(sbd_release):
        sbd_release = extract_archive(sbd_release, SBD_ARCHIVE_ROOT)
    _require(
        sbd_release,
        "the benchmark_RELEASE folder of SBD's benchmark.tgz, or that "
        'archive')
    if osp.isdir(osp.join(sbd_release, 'cls')):
        return sbd_release
    return _require(
        osp.join(sbd_release, 'dataset'),
        f"{sbd_release} should be the benchmark_RELEASE folder of SBD's "
        'benchmark.tgz')


def read_splits(voc_root: str, sbd_dataset: str) -> VOCAugSplits:
    """Read VOC's segmentation ``train``/``val`` and SBD's ``train``/``val``.

    Raises:
        FileNotFoundError: A split file is missing; the message names it.
    """
    return VOCAugSplits(
        voc_train=read_split_names(
            osp.join(voc_root, SPLIT_FILE.format(split='train'))),
        voc_val=read_split_names(
            osp.join(voc_root, SPLIT_FILE.format(split='val'))),
        sbd_train=read_split_names(osp.join(sbd_dataset, 'train.txt')),
        sbd_val=read_split_names(osp.join(sbd_dataset, 'val.txt')))


def read_sbd_mask(path: str) -> np.ndarray:
    """The class mask of an SBD ``cls/{name}.mat`` file.

    Args:
        path (str): Path of the file, a MATLAB struct ``GTcls`` with a
            field ``Segmentation``.

    Returns:
        np.ndarray: uint8 (H, W), 0 background, 1..20 classes.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not a readable ``.mat`` file, or holds no
            ``GTcls.Segmentation`` class map; the message names it.
    """
    _require(path, 'an SBD class mask (benchmark_RELEASE/dataset/cls)')
    try:
        mat = scipy.io.loadmat(path, variable_names=['GTcls'])
    except (ValueError, TypeError, OSError, EOFError, zlib.error,
            scipy.io.matlab.MatReadError) as err:
        raise ValueError(f'{path} is not a readable .mat file: {err}') from err
    try:
        seg = np.asarray(mat['GTcls']['Segmentation'].item())
    except (KeyError, ValueError, IndexError) as err:
        raise ValueError(
            f'{path} has no GTcls.Segmentation (an SBD cls/ file holds the '
            f'struct GTcls with that field): {err!r}') from err
    if seg.ndim != 2 or seg.dtype.kind not in 'iu':
        raise ValueError(f'{path}: GTcls.Segmentation is a {seg.dtype} '
                         f'array of shape {seg.shape}, not an integer map')
    return seg


def _check_values(label: np.ndarray, path: str) -> np.ndarray:
    """``label`` as uint8, if it holds only classes and ``IGNORE_INDEX``."""
    values = np.unique(label)
    bad = values[(values > NUM_FG_CLASSES) & (values != IGNORE_INDEX)]
    if bad.size or values.min() < 0:
        raise ValueError(f'{path} has values {values.tolist()}; masks hold 0..'
                         f'{NUM_FG_CLASSES} and {IGNORE_INDEX}')
    return label.astype(np.uint8)


def _image_size(path: str) -> Tuple[int, int]:
    """(H, W) of an image, from its header."""
    try:
        with Image.open(path) as img:
            return img.height, img.width
    except OSError as err:
        raise ValueError(f'{path} is not a readable image: {err}') from err


def _convert_one(task: tuple) -> Tuple[str, Optional[np.ndarray], bool]:
    """Write one image's ``SegmentationClassAug`` mask, read its labels.

    Args:
        task (tuple): ``(name, img_path, voc_mask, sbd_mat, out_path,
            xml_path)``; ``out_path`` None skips the mask (it exists),
            ``xml_path`` None the labels.

    Returns:
        tuple: The name, its label vector (or None) and whether a mask was
        written.
    """
    name, img_path, voc_mask, sbd_mat, out_path, xml_path = task
    labels = None if xml_path is None else labels_from_xml(xml_path)
    if out_path is None:
        return name, labels, False
    if osp.exists(voc_mask):
        label, source = read_index_png(voc_mask), voc_mask
    elif osp.exists(sbd_mat):
        label, source = read_sbd_mask(sbd_mat), sbd_mat
    else:
        raise FileNotFoundError(
            f'image {name} has no mask: neither {voc_mask} nor {sbd_mat} '
            'exists')
    label = _check_values(label, source)
    img_size = _image_size(img_path)
    if label.shape != img_size:
        raise ValueError(f'mask {source} is {label.shape[0]}x'
                         f'{label.shape[1]} (HxW) but its image {img_path} '
                         f'is {img_size[0]}x{img_size[1]}')
    write_file_atomically(encode_palette_png(label, voc_palette()), out_path)
    return name, labels, True


def _read_bytes(path: str) -> Optional[bytes]:
    """The content of a file, or None if it does not exist."""
    if not osp.exists(path):
        return None
    with open(path, 'rb') as f:
        return f.read()


def _existing_labels(path: str, names: Sequence[str]) -> bool:
    """Whether a class label file exists and has every name."""
    if not osp.exists(path):
        return False
    try:
        table = load_cls_labels(path)
    except ValueError as err:
        print_log(f'{path} is rewritten: {err}', 'current', logging.WARNING)
        return False
    return all(n in table for n in names)


def convert_voc_aug(vocdevkit: str,
                    sbd_release: str,
                    nproc: int = 1) -> Dict[str, int]:
    """Write ``train_aug.txt``, ``SegmentationClassAug`` and
    ``cls_labels.npy`` into ``VOCdevkit/VOC2012``.

    Idempotent: masks that exist are kept, ``cls_labels.npy`` is kept if
    it has every image, ``train_aug.txt`` is rewritten only if it differs.
    Every file is written atomically, so an interrupted run leaves whole
    files only and a rerun finishes the work.

    Args:
        vocdevkit (str): The ``VOCdevkit`` folder, or
            ``VOCtrainval_11-May-2012.tar`` (extracted next to itself).
        sbd_release (str): SBD's ``benchmark_RELEASE`` folder, or
            ``benchmark.tgz`` (extracted next to itself).
        nproc (int): Worker processes. Defaults to 1.

    Returns:
        dict: Counts: ``train_aug``, ``masks_written``, ``masks_kept`` and
        ``labels`` (0 when ``cls_labels.npy`` was kept).

    Raises:
        FileNotFoundError: An input folder, split file, image, XML or mask
            is missing; the message names it.
        ValueError: A ``.mat``, XML, mask or archive is corrupt; the
            message names it.
    """
    voc_root = find_voc_root(vocdevkit)
    sbd_dataset = find_sbd_dataset(sbd_release)
    for sub in ('JPEGImages', 'Annotations', 'SegmentationClass'):
        _require(
            osp.join(voc_root, sub),
            'a folder of VOCdevkit/VOC2012 (VOCtrainval_11-May-2012.tar)')
    _require(
        osp.join(sbd_dataset, 'cls'),
        "SBD's class masks (benchmark_RELEASE/dataset/cls)")
    splits = read_splits(voc_root, sbd_dataset)
    train_aug = splits.train_aug
    if len(train_aug) != TRAIN_AUG_SIZE:
        print_log(
            f'train_aug has {len(train_aug)} images, not the '
            f'{TRAIN_AUG_SIZE:,} of VOC 2012 + SBD: {splits.describe()}',
            'current', logging.WARNING)

    names = sorted(
        set(train_aug) | set(splits.voc_train)
        | set(splits.voc_val))
    img_paths = {
        n: osp.join(voc_root, 'JPEGImages', f'{n}.jpg')
        for n in names
    }
    missing = [p for p in img_paths.values() if not osp.exists(p)]
    if missing:
        raise FileNotFoundError(
            f'images of train_aug/val are missing: {show_names(missing)}')

    labels_file = osp.join(voc_root, CLS_LABELS_FILE)
    need_labels = not _existing_labels(labels_file, names)
    tasks = []
    for n in names:
        out_path = osp.join(voc_root, MASK_DIR, f'{n}.png')
        tasks.append(
            (n, img_paths[n],
             osp.join(voc_root, 'SegmentationClass', f'{n}.png'),
             osp.join(sbd_dataset, 'cls',
                      f'{n}.mat'), None if osp.exists(out_path) else out_path,
             osp.join(voc_root, 'Annotations', f'{n}.xml')
             if need_labels else None))
    tasks = [t for t in tasks if t[4] is not None or t[5] is not None]
    if tasks:
        print_log(
            f'writing {sum(t[4] is not None for t in tasks)} masks to '
            f'{osp.join(voc_root, MASK_DIR)}' +
            (f' and the labels of {len(tasks)} images' if need_labels else ''),
            'current')
        if nproc > 1:
            results = track_parallel_progress(_convert_one, tasks, nproc)
        else:
            results = track_progress(_convert_one, tasks)
    else:
        results = []
    written = sum(r[2] for r in results)

    if need_labels:
        buf = io.BytesIO()
        np.save(buf, {r[0]: r[1] for r in results}, allow_pickle=True)
        write_file_atomically(buf.getvalue(), labels_file)
    split_path = osp.join(voc_root, SPLIT_FILE.format(split='train_aug'))
    content = ''.join(f'{n}\n' for n in train_aug).encode()
    if _read_bytes(split_path) != content:
        write_file_atomically(content, split_path)
    counts = dict(
        train_aug=len(train_aug),
        masks_written=written,
        masks_kept=len(names) - written,
        labels=len(names) if need_labels else 0)
    print_log(
        f'{voc_root}: train_aug.txt ({len(train_aug)} images), '
        f'{MASK_DIR} ({written} written, {len(names) - written} kept), '
        f'{CLS_LABELS_FILE} ' +
        (f'({len(names)} images)' if need_labels else '(kept)'), 'current')
    return counts
