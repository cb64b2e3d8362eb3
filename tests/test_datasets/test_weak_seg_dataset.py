# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""WeakSegDataset with a class set of its own: labels from the three
sources, images without labels, the class checks."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.datasets import WeakCOCODataset, WeakSegDataset
from mmseg_wsss.utils import label_colours

CLASSES = ('background', 'cat', 'dog', 'bird')
# image name -> mask; 'empty' has no object
MASKS = {
    'a': [[0, 1], [1, 1]],
    'b': [[2, 0], [3, 255]],
    'empty': [[0, 0], [0, 0]],
}
XML = '<annotation>{}</annotation>'
OBJECT = '<object><name>{}</name></object>'


@pytest.fixture
def pets(tmp_path):
    """A three-image set in VOC's layout with three foreground classes."""
    root = tmp_path / 'pets'
    for folder in ('JPEGImages', 'SegmentationClass', 'Annotations',
                   'ImageSets/Segmentation'):
        (root / folder).mkdir(parents=True)
    table = {}
    for name, mask in MASKS.items():
        mask = np.array(mask, np.uint8)
        Image.new('RGB', (2, 2)).save(root / 'JPEGImages' / f'{name}.jpg')
        Image.fromarray(mask).save(root / 'SegmentationClass' / f'{name}.png')
        present = sorted(set(mask.flat) - {0, 255})
        (root / 'Annotations' / f'{name}.xml').write_text(
            XML.format(''.join(OBJECT.format(CLASSES[c]) for c in present)))
        vec = np.zeros(3, np.float32)
        vec[[c - 1 for c in present]] = 1
        table[name] = vec
    np.save(root / 'cls_labels.npy', table)
    (root / 'ImageSets/Segmentation/train.txt').write_text('a\nb\nempty\n')
    return str(root)


def build(root, **kwargs):
    kwargs.setdefault('metainfo', dict(classes=CLASSES))
    return WeakSegDataset(
        data_root=root, ann_file='ImageSets/Segmentation/train.txt', **kwargs)


@pytest.mark.parametrize('source', ['cls_labels', 'xml', 'mask'])
def test_labels_over_its_own_classes(pets, source):
    dataset = build(pets, label_source=source, keep_unlabeled=True)
    labels = [dataset.get_data_info(i)['img_labels'] for i in range(3)]
    np.testing.assert_array_equal(
        np.stack(labels), [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    assert dataset.num_fg_classes == 3
    assert dataset.metainfo['classes'] == CLASSES
    # VOC's colours for the first indices
    assert dataset.metainfo['palette'] == [[0, 0, 0], [128, 0, 0], [0, 128, 0],
                                           [128, 128, 0]]


def test_unlabeled_images_skipped_kept_or_rejected(pets):
    with pytest.warns(UserWarning, match='1 images .* no foreground label'):
        assert len(build(pets)) == 2
    assert len(build(pets, keep_unlabeled=True)) == 3
    with pytest.raises(ValueError, match='empty.png'):
        build(pets, label_source='mask', skip_unlabeled=False)


def test_class_checks(pets):
    with pytest.raises(ValueError, match='needs metainfo=dict'):
        build(pets, metainfo=None)
    with pytest.raises(ValueError, match='at least one foreground'):
        build(pets, metainfo=dict(classes=('background', )))
    # a label file of another class set names the file and key
    with pytest.raises(
            ValueError,
            match=r"cls_labels.npy: key 'a' has "
            r'shape \(3,\), expected \(2,\)'):
        build(pets, metainfo=dict(classes=CLASSES[:3]))
    with pytest.raises(ValueError, match="unknown class name 'bird'"):
        build(pets, label_source='xml', metainfo=dict(classes=CLASSES[:3]))
    with pytest.raises(ValueError, match=r'values \[3\] that are neither'):
        build(pets, label_source='mask', metainfo=dict(classes=CLASSES[:3]))
    with pytest.raises(ValueError, match='WeakCOCODataset keeps its 81'):
        WeakCOCODataset(
            data_root=pets,
            ann_file='ImageSets/Segmentation/train.txt',
            metainfo=dict(classes=CLASSES))


def test_coco_images_found_by_their_names(tmp_path):
    root = tmp_path / 'coco'
    names = ['COCO_train2014_000000000009', 'COCO_val2014_000000000042']
    (root / 'ImageSets').mkdir(parents=True)
    for name in names:
        os.makedirs(root / name.split('_')[1], exist_ok=True)
        Image.new('RGB',
                  (2, 2)).save(root / name.split('_')[1] / f'{name}.jpg')
    (root / 'ImageSets/train.txt').write_text('\n'.join(names) + '\n')
    np.save(root / 'cls_labels.npy', {n: np.zeros(80) for n in names})
    dataset = WeakCOCODataset(
        data_root=str(root), ann_file='ImageSets/train.txt')
    # images without objects are kept: negatives of every class
    paths = [dataset.get_data_info(i)['img_path'] for i in range(2)]
    assert paths == [
        osp.join(str(root), 'train2014', names[0] + '.jpg'),
        osp.join(str(root), 'val2014', names[1] + '.jpg')
    ]
    assert dataset.get_data_info(0)['img_labels'].shape == (80, )
    assert dataset.metainfo['classes'][:3] == ('background', 'person',
                                               'bicycle')
    (root / 'ImageSets/bad.txt').write_text('000000000009\n')
    with pytest.raises(ValueError, match="'000000000009' is not a COCO 2014"):
        WeakCOCODataset(data_root=str(root), ann_file='ImageSets/bad.txt')


def test_label_colours_extend_the_voc_palette():
    from mmseg.datasets import PascalVOCDataset
    colours = label_colours(81)
    assert [list(c) for c in colours[:21]
            ] == [list(c) for c in PascalVOCDataset.METAINFO['palette']]
    assert len(set(colours)) == 81
    # index 1: the lowest bit of the index is the high bit of red
    assert colours[1] == (128, 0, 0) and colours[8] == (64, 0, 0)
