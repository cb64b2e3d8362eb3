# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""make_cls_labels.py's sources (CSV, XML, masks), its class list and its
errors, on hand-made files."""
import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.datasets import load_cls_labels
from mmseg_wsss.datasets.cls_labels_writer import (labels_from_csv,
                                                   make_cls_labels,
                                                   read_class_list)

CLASSES = ['cat', 'dog', 'bird']


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_class_list(tmp_path):
    path = write(tmp_path / 'c.txt', '# pets\nbackground\ncat\n\ndog\n')
    assert read_class_list(path) == ['cat', 'dog']
    with pytest.raises(ValueError, match=r"names \['cat'\] twice"):
        read_class_list(write(tmp_path / 'd.txt', 'cat\ndog\ncat\n'))
    with pytest.raises(ValueError, match='no foreground class'):
        read_class_list(write(tmp_path / 'e.txt', 'background\n'))


def test_csv_rows(tmp_path):
    path = write(tmp_path / 'l.csv', 'a,cat\nb, dog ; bird\n\nc,\n')
    labels = labels_from_csv(path, CLASSES)
    assert {
        k: v.tolist()
        for k, v in labels.items()
    } == {
        'a': [1, 0, 0],
        'b': [0, 1, 1],
        'c': [0, 0, 0]
    }
    with pytest.raises(ValueError, match=r"l2.csv:2: unknown class 'cow'"):
        labels_from_csv(write(tmp_path / 'l2.csv', 'a,cat\nb,cow\n'), CLASSES)
    with pytest.raises(ValueError, match=r"l3.csv:2: image 'a' again"):
        labels_from_csv(write(tmp_path / 'l3.csv', 'a,cat\na,dog\n'), CLASSES)
    with pytest.raises(ValueError, match=r'l4.csv:1: expected'):
        labels_from_csv(write(tmp_path / 'l4.csv', 'a\n'), CLASSES)


def test_xml_and_mask_folders(tmp_path, load_tool):
    xml_dir, mask_dir = tmp_path / 'Annotations', tmp_path / 'masks'
    xml_dir.mkdir()
    mask_dir.mkdir()
    obj = '<object><name>{}</name></object>'
    write(xml_dir / 'a.xml', f'<annotation>{obj.format("bird")}</annotation>')
    write(xml_dir / 'b.xml', '<annotation></annotation>')
    Image.fromarray(np.array([[0, 3], [255, 1]],
                             np.uint8)).save(mask_dir / 'a.png')
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(mask_dir / 'b.png')
    from_xml = make_cls_labels(CLASSES, xml_dir=str(xml_dir))
    assert {
        k: v.tolist()
        for k, v in from_xml.items()
    } == {
        'a': [0, 0, 1],
        'b': [0, 0, 0]
    }
    from_masks = make_cls_labels(CLASSES, mask_dir=str(mask_dir))
    assert from_masks['a'].tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match='exactly one'):
        make_cls_labels(CLASSES, xml_dir=str(xml_dir), mask_dir=str(mask_dir))
    # the tool: a class list, a split of the images to label, an .npz out
    classes = write(tmp_path / 'classes.txt', '\n'.join(CLASSES))
    names = write(tmp_path / 'only_a.txt', 'a\n')
    out = str(tmp_path / 'labels.npz')
    load_tool('dataset_converters/make_cls_labels').main(
        [classes, '--mask-dir',
         str(mask_dir), '--names', names, '--out', out])
    table = load_cls_labels(out, num_classes=3)
    assert list(table) == ['a'] and table['a'].tolist() == [1, 0, 1]
    with pytest.raises(KeyError, match='has no row for images'):
        make_cls_labels(
            CLASSES,
            csv_file=write(tmp_path / 'l.csv', 'a,cat\n'),
            names=['a', 'z'])
