# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Class label files (``cls_labels.npy``) for your own data: from a folder
of VOC-style XMLs, from a CSV (``name,class;class``) or from index masks,
over the classes of a class-list file.
"""
import csv
import io
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmseg_wsss.utils import show_names, write_file_atomically
from .label_sources import labels_from_mask, labels_from_xml, load_cls_labels


def read_class_list(path: str) -> List[str]:
    """Foreground class names, one a line, in label order.

    Blank lines and lines starting with ``#`` are skipped; a first name
    ``background`` is dropped (the labels never hold it).

    Raises:
        ValueError: The file lists no class or a class twice; the message
            names the file.
    """
    with open(path, encoding='utf-8') as f:
        names = [
            line.strip() for line in f
            if line.strip() and not line.lstrip().startswith('#')
        ]
    if names and names[0] == 'background':
        names = names[1:]
    if not names:
        raise ValueError(f'class list {path} names no foreground class')
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f'class list {path} names {twice} twice')
    return names


def labels_from_csv(path: str,
                    classes: Sequence[str]) -> Dict[str, np.ndarray]:
    """Image labels from a CSV of ``name,class;class`` rows.

    One row per image, no header: the image name (its file stem) and its
    classes separated by ``;`` (empty for an image without any of them).

    Args:
        path (str): The CSV file.
        classes (Sequence[str]): Foreground class names, in label order.

    Returns:
        dict[str, np.ndarray]: Image name -> float32 (C,) multi-hot vector.

    Raises:
        ValueError: A row is malformed, names an unknown class or repeats an
            image; the message names file and line.
    """
    classes = list(classes)
    labels = {}
    with open(path, newline='', encoding='utf-8') as f:
        for line_no, row in enumerate(csv.reader(f), 1):
            if not row or not ''.join(row).strip():
                continue
            if len(row) != 2 or not row[0].strip():
                raise ValueError(
                    f'{path}:{line_no}: expected "name,class;class", got '
                    f'{",".join(row)!r}')
            name = row[0].strip()
            if name in labels:
                raise ValueError(f'{path}:{line_no}: image {name!r} again')
            vec = np.zeros(len(classes), np.float32)
            for cls in filter(None, (c.strip() for c in row[1].split(';'))):
                if cls not in classes:
                    raise ValueError(
                        f'{path}:{line_no}: unknown class {cls!r} (classes: '
                        f'{", ".join(classes)})')
                vec[classes.index(cls)] = 1
            labels[name] = vec
    if not labels:
        raise ValueError(f'{path} has no rows')
    return labels


def _names_in(folder: str, suffix: str) -> List[str]:
    """Stems of the files of ``folder`` that end with ``suffix``."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'folder {folder} not found')
    return sorted(f[:-len(suffix)] for f in os.listdir(folder)
                  if f.endswith(suffix) and not f.startswith('.'))


def make_cls_labels(
        classes: Sequence[str],
        xml_dir: Optional[str] = None,
        csv_file: Optional[str] = None,
        mask_dir: Optional[str] = None,
        names: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """Image labels of a data set from exactly one source.

    Args:
        classes (Sequence[str]): Foreground class names, in label order
            (mask index ``k`` is ``classes[k - 1]``).
        xml_dir (str, optional): Folder of ``{name}.xml`` (VOC's
            ``<object><name>``).
        csv_file (str, optional): CSV of ``name,class;class`` rows.
        mask_dir (str, optional): Folder of ``{name}.png`` index masks
            (0 background, 1..C, 255 ignored).
        names (Sequence[str], optional): The images to label. Defaults to
            None: every file of the folder, every row of the CSV.

    Returns:
        dict[str, np.ndarray]: Image name -> float32 (C,).

    Raises:
        ValueError: Not exactly one source, or bad content (the message
            names the file).
        KeyError: ``names`` has images the source lacks.
    """
    sources = [s for s in (xml_dir, csv_file, mask_dir) if s is not None]
    if len(sources) != 1:
        raise ValueError('give exactly one of xml_dir, csv_file, mask_dir')
    if csv_file is not None:
        labels = labels_from_csv(csv_file, classes)
        if names is None:
            return labels
        missing = [n for n in names if n not in labels]
        if missing:
            raise KeyError(
                f'{csv_file} has no row for images {show_names(missing)}')
        return {n: labels[n] for n in names}
    folder, suffix = (xml_dir, '.xml') if xml_dir is not None else (mask_dir,
                                                                    '.png')
    if names is None:
        names = _names_in(folder, suffix)
    if xml_dir is not None:
        return {
            n: labels_from_xml(osp.join(xml_dir, n + '.xml'), None, classes)
            for n in names
        }
    return {
        n:
        labels_from_mask(
            osp.join(mask_dir, n + '.png'), num_classes=len(classes))
        for n in names
    }


def save_cls_labels(labels: Dict[str, np.ndarray], path: str) -> None:
    """Write a class label file atomically: ``.npz`` (``np.savez``, read
    without pickle) or else IRN's ``.npy`` (``np.save`` of the dict); both
    load with :func:`load_cls_labels`.

    Raises:
        ValueError: The written file does not load back as ``labels``.
    """
    buf = io.BytesIO()
    if path.endswith('.npz'):
        np.savez(buf, **labels)
    else:
        np.save(buf, labels, allow_pickle=True)
    write_file_atomically(buf.getvalue(), path)
    num_classes = len(next(iter(labels.values()))) if labels else 0
    back = load_cls_labels(path, num_classes=num_classes)
    if back.keys() != labels.keys():
        raise ValueError(f'{path} does not read back its {len(labels)} names')
