# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The dataset says once where its image labels come from."""
import numpy as np
from log_capture import current_log_records
from PIL import Image

from mmseg_wsss.datasets import WeakVOCDataset


def _voc(root):
    """One 2 x 2 image (a cat) with its mask and class label file."""
    for folder in ('JPEGImages', 'SegmentationClass',
                   'ImageSets/Segmentation'):
        (root / folder).mkdir(parents=True)
    Image.new('RGB', (2, 2)).save(root / 'JPEGImages' / 'a.jpg')
    Image.fromarray(np.full(
        (2, 2), 8, np.uint8)).save(root / 'SegmentationClass' / 'a.png')
    labels = np.zeros(20, np.float32)
    labels[7] = 1
    np.save(root / 'cls_labels.npy', dict(a=labels))
    for split in ('train', 'val'):
        (root / f'ImageSets/Segmentation/{split}.txt').write_text('a\n')
    return str(root)


def _lines(records):
    return [
        r.getMessage() for r in records if 'image labels' in r.getMessage()
    ]


def test_label_source_logged_once_per_source(tmp_path):
    root = _voc(tmp_path / 'voc')
    with current_log_records() as records:
        # train and val of one config read the same file: one line
        for split in ('train', 'val'):
            WeakVOCDataset(
                data_root=root, ann_file=f'ImageSets/Segmentation/{split}.txt')
        WeakVOCDataset(
            data_root=root,
            ann_file='ImageSets/Segmentation/train.txt',
            label_source='mask')
    assert _lines(records) == [
        f"WeakVOCDataset: image labels from cls_labels, {root}/cls_labels.npy"
        " (label_source='auto': the first of the class label file, the XML "
        'folder and the masks that exists)',
        f'WeakVOCDataset: image labels from mask, {root}/SegmentationClass'
    ]
