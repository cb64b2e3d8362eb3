# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""VOCSegDataset, the second stage's: the first stage's split files (plain or
DeepLab-style lines), and a clear error for a missing pseudo label."""
import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.datasets import VOCSegDataset


@pytest.fixture
def root(tmp_path):
    """Two 2 x 2 images and their pseudo labels."""
    for folder in ('JPEGImages', 'pseudo', 'ImageSets/Segmentation'):
        (tmp_path / folder).mkdir(parents=True)
    for name, cls in (('a', 8), ('b', 12)):
        Image.new('RGB', (2, 2)).save(tmp_path / 'JPEGImages' / f'{name}.jpg')
        Image.fromarray(np.full(
            (2, 2), cls, np.uint8)).save(tmp_path / 'pseudo' / f'{name}.png')
    return tmp_path


def build(root, split):
    return VOCSegDataset(
        data_root=str(root),
        ann_file=f'ImageSets/Segmentation/{split}.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='pseudo'),
        pipeline=[])


@pytest.mark.parametrize('lines', [
    'a\nb\n', '/JPEGImages/a.jpg /SegmentationClassAug/a.png\r\n'
    '\n/JPEGImages/b.jpg /SegmentationClassAug/b.png\n'
])
def test_plain_and_deeplab_style_lines(root, lines):
    (root / 'ImageSets/Segmentation/train_aug.txt').write_text(lines)
    dataset = build(root, 'train_aug')
    assert [dataset.get_data_info(i)['seg_map_path'] for i in range(2)
            ] == [str(root / 'pseudo' / f'{n}.png') for n in 'ab']
    assert dataset.get_data_info(1)['img_path'] == str(root / 'JPEGImages' /
                                                       'b.jpg')


def test_missing_pseudo_label_named(root):
    (root / 'ImageSets/Segmentation/train_aug.txt').write_text('a\nb\n')
    (root / 'pseudo' / 'b.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'1 masks .*/pseudo/b\.png'):
        build(root, 'train_aug')
