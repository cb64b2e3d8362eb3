# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Image-level label parsers: class label files, VOC XML, masks."""
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.datasets import (VOC_FG_CLASSES, labels_from_mask,
                                 labels_from_xml, load_cls_labels)


def write_text(path, text):
    """Write ``text`` to ``path`` with exactly the given line endings."""
    with open(path, 'w', newline='') as f:
        f.write(text)


def test_xml_difficult_objects_count(tmp_path):
    path = str(tmp_path / 'a.xml')
    # A dog marked difficult and a truncated person: both are labels.
    write_text(
        path, '<annotation><object><name>dog</name><difficult>1</difficult>'
        '</object><object><name> person\n</name><truncated>1</truncated>'
        '</object></annotation>')
    labels = labels_from_xml(path)
    assert labels.dtype == np.float32
    assert np.flatnonzero(labels).tolist() == [
        VOC_FG_CLASSES.index('dog'),
        VOC_FG_CLASSES.index('person')
    ]
    write_text(path, '<annotation><object><pose/></object></annotation>')
    with pytest.raises(ValueError, match='a.xml: an <object> has no <name>'):
        labels_from_xml(path)
    write_text(path, '<annotation><object>')
    with pytest.raises(ValueError, match='a.xml is not valid XML'):
        labels_from_xml(path)
    with pytest.raises(FileNotFoundError, match='b.xml not found'):
        labels_from_xml(str(tmp_path / 'b.xml'))


def test_cls_labels_wrong_length(tmp_path):
    path = str(tmp_path / 'cls_labels.npy')
    np.save(path, {'2007_000032': np.ones(20), '2007_000039': np.ones(21)})
    with pytest.raises(
            ValueError,
            match=r"cls_labels.npy: key '2007_000039' has shape "
            r'\(21,\), expected \(20,\)'):
        load_cls_labels(path)


@pytest.mark.parametrize('content,kind', [(np.ones(20), 'a float64 array'),
                                          (['a', 'b'], 'a <U1 array'),
                                          ([{
                                              'a': 1
                                          }], 'an object of type ndarray')])
def test_cls_labels_not_a_dict(tmp_path, content, kind):
    path = str(tmp_path / 'cls_labels.npy')
    np.save(path, np.asarray(content))
    with pytest.raises(ValueError, match=f'cls_labels.npy holds {kind}'):
        load_cls_labels(path)


def test_cls_labels_values_and_keys_checked(tmp_path):
    path = str(tmp_path / 'cls_labels.npy')
    np.save(path, {'a': np.full(20, 2.0)})
    with pytest.raises(ValueError, match="key 'a' has values outside"):
        load_cls_labels(path)
    np.save(path, {(1, 2): np.zeros(20)})
    with pytest.raises(ValueError, match=r'key \(1, 2\) is a tuple'):
        load_cls_labels(path)


def test_cls_labels_irn_integer_keys_and_npz(tmp_path):
    vec = np.zeros(20, dtype=np.float32)
    vec[[0, 19]] = 1
    npy = str(tmp_path / 'irn.npy')
    # IRN writes '2007_000032' as np.int32(2007000032).
    np.save(npy, {np.int32(2007000032): vec, 2008000123: 1 - vec})
    labels = load_cls_labels(npy)
    assert sorted(labels) == ['2007_000032', '2008_000123']
    np.testing.assert_array_equal(labels['2007_000032'], vec)
    npz = str(tmp_path / 'labels.npz')
    np.savez(npz, **labels)
    from_npz = load_cls_labels(npz)
    assert sorted(from_npz) == sorted(labels)
    np.testing.assert_array_equal(from_npz['2008_000123'], 1 - vec)


class _RunsCode:
    """Unpickles to a call of ``os.system``: what a crafted file can do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_cls_labels_crafted_pickle_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'cls_labels.npy')
    with open(path, 'wb') as f:
        np.lib.format.write_array_header_1_0(
            f, dict(descr='|O', fortran_order=False, shape=()))
        pickle.dump({'2007_000032': _RunsCode(marker)}, f, protocol=3)
    with pytest.raises(
            ValueError,
            match=r'cls_labels.npy cannot be unpickled safely: '
            r'refusing to load posix.system'):
        load_cls_labels(path)
    assert not marker.exists()


def test_mask_values_checked(tmp_path):
    path = str(tmp_path / 'm.png')
    mask = np.zeros((4, 5), dtype=np.uint8)
    mask[0, :2] = 20
    mask[1, 1] = 255
    Image.fromarray(mask).save(path)
    assert np.flatnonzero(labels_from_mask(path)).tolist() == [19]
    mask[2, 2] = 21
    Image.fromarray(mask).save(path)
    with pytest.raises(ValueError, match=r'm.png has values \[21\]'):
        labels_from_mask(path)
    Image.fromarray(np.zeros((4, 5, 3), dtype=np.uint8)).save(path)
    with pytest.raises(ValueError, match="m.png is a 'RGB' image"):
        labels_from_mask(path)
