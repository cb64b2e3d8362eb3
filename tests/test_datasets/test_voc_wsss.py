# Copyright (c) mmseg-wsss contributors. All rights reserved.
import os
import os.path as osp
import re

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from mmseg_wsss.datasets import VOC_FG_CLASSES, WeakVOCDataset, load_cls_labels

SPLIT_DIR = osp.join('ImageSets', 'Segmentation')


@pytest.fixture
def small_voc(tmp_path, make_toy_voc):
    """A fresh 6 + 2 image toy set that a test may break."""
    root = str(tmp_path / 'voc')
    make_toy_voc(root, seed=1, num_train_aug=6, num_train=3, num_val=2)
    return root


def build(root, split='train_aug', **kwargs):
    """Build a WeakVOCDataset on ``root`` without a pipeline."""
    return WeakVOCDataset(
        data_root=root, ann_file=osp.join(SPLIT_DIR, f'{split}.txt'), **kwargs)


def names_of(dataset):
    """Image names of a dataset, in order."""
    return [
        osp.splitext(osp.basename(dataset.get_data_info(i)['img_path']))[0]
        for i in range(len(dataset))
    ]


def write_text(path, text):
    """Write ``text`` to ``path`` with exactly the given line endings."""
    with open(path, 'w', newline='') as f:
        f.write(text)


@pytest.mark.parametrize('split', ['train_aug', 'val'])
def test_label_sources_agree(toy_voc, split):
    seg_dir = 'SegmentationClassAug'
    by_source = {}
    for source in ('cls_labels', 'xml', 'mask'):
        dataset = build(
            toy_voc,
            split,
            label_source=source,
            data_prefix=dict(img_path='JPEGImages', seg_map_path=seg_dir))
        by_source[source] = np.stack([
            dataset.get_data_info(i)['img_labels']
            for i in range(len(dataset))
        ])
    expected = 200 if split == 'train_aug' else 60
    assert by_source['cls_labels'].shape == (expected, 20)
    assert by_source['cls_labels'].dtype == np.float32
    np.testing.assert_array_equal(by_source['cls_labels'], by_source['xml'])
    np.testing.assert_array_equal(by_source['cls_labels'], by_source['mask'])
    # Only the toy set's five classes occur, each at least once.
    present = by_source['cls_labels'].any(axis=0)
    toy_classes = {'aeroplane', 'bus', 'cat', 'person', 'tvmonitor'}
    assert {VOC_FG_CLASSES[i] for i in np.flatnonzero(present)} == toy_classes


def test_data_info_fields_and_optional_masks(toy_voc):
    dataset = build(toy_voc, 'train_aug')
    assert len(dataset) == 200
    train = set(open(osp.join(toy_voc, SPLIT_DIR, 'train.txt')).read().split())
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name = osp.basename(info['img_path'])[:-4]
        assert info['img_path'] == osp.join(toy_voc, 'JPEGImages',
                                            name + '.jpg')
        # Only train images have a SegmentationClass mask.
        if name in train:
            assert info['seg_map_path'] == osp.join(toy_voc,
                                                    'SegmentationClass',
                                                    name + '.png')
        else:
            assert info['seg_map_path'] is None
        assert info['img_labels'].shape == (20, )
        assert info['label_map'] is None
        assert info['reduce_zero_label'] is False
        assert info['seg_fields'] == []
    assert dataset.metainfo['classes'][0] == 'background'
    assert len(dataset.metainfo['classes']) == 21

    no_masks = build(
        toy_voc,
        'train',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=None))
    assert len(no_masks) == 60
    assert all(
        no_masks.get_data_info(i)['seg_map_path'] is None
        for i in range(len(no_masks)))


def test_auto_label_source_order(small_voc):
    assert build(small_voc)._resolve_label_source() == 'cls_labels'
    os.remove(osp.join(small_voc, 'cls_labels.npy'))
    assert build(small_voc)._resolve_label_source() == 'xml'
    os.rename(
        osp.join(small_voc, 'Annotations'), osp.join(small_voc, 'xml_gone'))
    dataset = build(small_voc, 'train')
    assert dataset._resolve_label_source() == 'mask'
    assert len(dataset) == 3
    # train_aug has images without masks, and no other source is left.
    with pytest.raises(FileNotFoundError, match='has no mask for images'):
        build(small_voc, 'train_aug')
    with pytest.raises(ValueError, match=r"found neither .*cls_labels.npy"):
        build(
            small_voc,
            'train',
            data_prefix=dict(img_path='JPEGImages', seg_map_path=None))


def test_build_from_registry(toy_voc):
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='WeakVOCDataset',
            data_root=toy_voc,
            ann_file=osp.join(SPLIT_DIR, 'val.txt'),
            label_source='xml',
            pipeline=[dict(type='LoadImageFromFile')]))
    assert isinstance(dataset, WeakVOCDataset)
    sample = dataset[0]
    assert sample['img'].ndim == 3
    assert sample['img_labels'].shape == (20, )


def test_split_file_crlf_blank_lines_and_deeplab_style(small_voc):
    names = names_of(build(small_voc))
    split = osp.join(small_voc, SPLIT_DIR, 'train_aug.txt')
    write_text(split, '\r\n'.join(names[:3]) + '\r\n\r\n')
    assert names_of(build(small_voc)) == names[:3]
    write_text(
        split, ''.join(f'/JPEGImages/{n}.jpg /SegmentationClassAug/{n}.png\n'
                       for n in names[3:]))
    assert names_of(build(small_voc)) == names[3:]


def test_missing_split_file(small_voc):
    with pytest.raises(FileNotFoundError, match=r'split file .*nope\.txt'):
        build(small_voc, 'nope')


def test_duplicate_names(small_voc):
    names = names_of(build(small_voc))
    write_text(
        osp.join(small_voc, SPLIT_DIR, 'train_aug.txt'),
        '\n'.join(names + [names[2], names[4], names[2]]) + '\n')
    dups = f'{names[2]}, {names[4]}'
    with pytest.raises(
            ValueError, match=f'more than once: {re.escape(dups)}$'):
        build(small_voc)


def test_missing_image(small_voc):
    names = names_of(build(small_voc))
    path = osp.join(small_voc, 'JPEGImages', f'{names[1]}.jpg')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=re.escape(path)):
        build(small_voc)


@pytest.mark.parametrize('cut', ['zero_bytes', 'truncated'])
def test_broken_jpeg_named_at_load(small_voc, cut):
    dataset = build(
        small_voc, pipeline=[dict(type='LoadImageFromFile')], test_mode=True)
    path = dataset.get_data_info(2)['img_path']
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(b'' if cut == 'zero_bytes' else data[:len(data) * 2 // 3])
    assert dataset[1]['img'].ndim == 3
    reason = 'empty' if cut == 'zero_bytes' else 'truncated JPEG'
    with pytest.raises(ValueError, match=f'{re.escape(path)} is .*{reason}'):
        dataset[2]


def test_xml_unknown_class(small_voc):
    name = names_of(build(small_voc))[3]
    path = osp.join(small_voc, 'Annotations', f'{name}.xml')
    text = open(path).read()
    first = re.search(r'<name>(\w+)</name>', text).group(1)
    write_text(
        path, text.replace(f'<name>{first}</name>', '<name>unicorn</name>', 1))
    with pytest.raises(
            ValueError,
            match=f"{re.escape(path)}: unknown class name "
            "'unicorn'"):
        build(small_voc, label_source='xml')


def test_xml_without_objects_warns_and_skips(small_voc):
    names = names_of(build(small_voc))
    path = osp.join(small_voc, 'Annotations', f'{names[0]}.xml')
    text = open(path).read()
    write_text(path, re.sub(r'<object>.*</object>', '', text, flags=re.S))
    with pytest.warns(
            UserWarning,
            match=f'no foreground label .* {re.escape(path)}; '
            'they are skipped'):
        dataset = build(small_voc, label_source='xml')
    assert names_of(dataset) == names[1:]
    with pytest.raises(ValueError, match=re.escape(path)):
        build(small_voc, label_source='xml', skip_unlabeled=False)


def test_cls_labels_without_foreground_warns_and_skips(small_voc):
    path = osp.join(small_voc, 'cls_labels.npy')
    table = load_cls_labels(path)
    names = names_of(build(small_voc))
    table[names[4]] = np.zeros(20, dtype=np.float32)
    np.save(path, table)
    with pytest.warns(UserWarning, match=re.escape(f"[{names[4]!r}]")):
        dataset = build(small_voc)
    assert names_of(dataset) == names[:4] + names[5:]
    with pytest.raises(ValueError, match='have no foreground label'):
        build(small_voc, skip_unlabeled=False)


def test_cls_labels_missing_entry(small_voc):
    path = osp.join(small_voc, 'cls_labels.npy')
    table = load_cls_labels(path)
    name = names_of(build(small_voc))[5]
    del table[name]
    np.save(path, table)
    with pytest.raises(
            KeyError,
            match=f'{re.escape(path)} has no entry '
            f'for images {name}'):
        build(small_voc)


def test_argument_checks(small_voc):
    with pytest.raises(ValueError, match="label_source must be one of"):
        build(small_voc, label_source='gt')
    with pytest.raises(ValueError, match='keeps its 21 classes'):
        build(small_voc, metainfo=dict(classes=('background', 'cat')))
    with pytest.raises(ValueError, match='needs ann_file'):
        WeakVOCDataset(ann_file='', data_root=small_voc)
