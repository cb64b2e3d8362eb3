# Copyright (c) mmseg-wsss contributors. All rights reserved.
import os
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.datasets import WeakVOCDataset, load_cls_labels

SPLITS = osp.join('ImageSets', 'Segmentation')


def read_tree(root):
    """Relative path -> bytes of every file under ``root``."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def read_split(root, split):
    """Names listed in a split file."""
    with open(osp.join(root, SPLITS, f'{split}.txt'), 'rb') as f:
        return f.read().decode().split('\n')[:-1]


def test_same_seed_same_bytes_other_seed_differs(tmp_path, make_toy_voc):
    kwargs = dict(num_train_aug=8, num_train=3, num_val=3)
    make_toy_voc(str(tmp_path / 'a'), seed=5, **kwargs)
    make_toy_voc(str(tmp_path / 'b'), seed=5, **kwargs)
    make_toy_voc(str(tmp_path / 'c'), seed=6, **kwargs)
    a, b, c = (read_tree(tmp_path / d) for d in 'abc')
    # 11 images -> 11 JPEG + 11 XML + 11 Aug masks + 6 class masks, plus
    # 3 splits, cls_labels.npy and toy_voc.json.
    assert len(a) == 11 * 3 + 6 + 5
    assert a == b
    assert a.keys() == c.keys()
    assert a['JPEGImages/2000_000001.jpg'] != c['JPEGImages/2000_000001.jpg']


def test_layout_and_splits(toy_voc):
    train_aug = read_split(toy_voc, 'train_aug')
    train = read_split(toy_voc, 'train')
    val = read_split(toy_voc, 'val')
    assert (len(train_aug), len(train), len(val)) == (200, 60, 60)
    assert set(train) <= set(train_aug)
    assert not set(val) & set(train_aug)
    masks = os.listdir(osp.join(toy_voc, 'SegmentationClass'))
    assert {n[:-4] for n in masks} == set(train) | set(val)
    aug = os.listdir(osp.join(toy_voc, 'SegmentationClassAug'))
    assert {n[:-4] for n in aug} == set(train_aug) | set(val)
    sizes = set()
    for name in train_aug + val:
        with Image.open(osp.join(toy_voc, 'JPEGImages', f'{name}.jpg')) as im:
            assert im.format == 'JPEG' and im.mode == 'RGB'
            assert 64 <= min(im.size) and max(im.size) <= 128
            sizes.add(im.size)
    assert len(sizes) > 100


def test_masks_palette_band_and_labels(toy_voc):
    palette = WeakVOCDataset.METAINFO['palette']
    table = load_cls_labels(osp.join(toy_voc, 'cls_labels.npy'))
    band_fraction, two_class = [], 0
    for name in read_split(toy_voc, 'train') + read_split(toy_voc, 'val'):
        with Image.open(osp.join(toy_voc, 'SegmentationClass',
                                 f'{name}.png')) as im:
            assert im.mode == 'P'
            pal = np.array(im.getpalette()).reshape(-1, 3)
            mask = np.asarray(im)
        np.testing.assert_array_equal(pal[:21], palette)
        assert pal[255].tolist() == [224, 224, 192]
        with Image.open(
                osp.join(toy_voc, 'SegmentationClassAug',
                         f'{name}.png')) as im:
            assert im.mode == 'L'
            np.testing.assert_array_equal(np.asarray(im), mask)
        with Image.open(osp.join(toy_voc, 'JPEGImages', f'{name}.jpg')) as im:
            assert im.size == mask.shape[::-1]
        values = set(np.unique(mask).tolist())
        assert values <= {0, 1, 6, 8, 15, 20, 255}
        assert 255 in values
        # Every pixel next to an object pixel of another label is 255.
        obj = (mask > 0) & (mask < 255)
        assert not (obj[:, 1:] & (mask[:, :-1] == 0)).any()
        assert not (obj[1:, :] & (mask[:-1, :] == 0)).any()
        band_fraction.append((mask == 255).mean())
        present = sorted(v for v in values if 0 < v < 255)
        assert (np.flatnonzero(table[name]) + 1).tolist() == present
        two_class += len(present) == 2
    assert 0.02 < np.mean(band_fraction) < 0.3
    assert 10 <= two_class <= 80


def test_xml_matches_image(toy_voc):
    name = read_split(toy_voc, 'train_aug')[150]
    root = ET.parse(osp.join(toy_voc, 'Annotations', f'{name}.xml')).getroot()
    assert root.findtext('filename') == f'{name}.jpg'
    with Image.open(osp.join(toy_voc, 'JPEGImages', f'{name}.jpg')) as im:
        width, height = im.size
    assert int(root.findtext('size/width')) == width
    assert int(root.findtext('size/height')) == height
    objects = root.findall('object')
    assert 1 <= len(objects) <= 3
    for obj in objects:
        box = [
            int(obj.findtext(f'bndbox/{k}'))
            for k in ('xmin', 'ymin', 'xmax', 'ymax')
        ]
        assert 1 <= box[0] < box[2] <= width
        assert 1 <= box[1] < box[3] <= height


def test_refuses_foreign_dir_and_replaces_own(tmp_path, make_toy_voc):
    foreign = tmp_path / 'mine'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match='mine is not empty'):
        make_toy_voc(str(foreign))
    assert (foreign / 'keep.txt').read_text() == 'x'

    out = tmp_path / 'toy'
    make_toy_voc(str(out), num_train_aug=4, num_train=2, num_val=1)
    make_toy_voc(str(out), num_train_aug=2, num_train=1, num_val=1)
    assert len(os.listdir(out / 'JPEGImages')) == 3
    with pytest.raises(ValueError, match='num_train <= num_train_aug'):
        make_toy_voc(str(out), num_train_aug=2, num_train=3)


def test_cli(tmp_path, load_tool, capsys):
    out = str(tmp_path / 'cli')
    load_tool('misc/make_toy_voc').main([
        out, '--seed', '3', '--num-train-aug', '3', '--num-train', '1',
        '--num-val', '1'
    ])
    assert 'train_aug: 3, train: 1, val: 1' in capsys.readouterr().out
    assert read_split(out, 'train') == ['2000_000001']
