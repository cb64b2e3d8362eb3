# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The 'parts' toy style draws CAM's two failure modes, as documented."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg_wsss.datasets import make_toy_voc
from mmseg_wsss.datasets.toy_voc import TOY_CLASSES
from mmseg_wsss.utils import VOC_CLASSES


@pytest.fixture(scope='module')
def parts_voc(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('parts_voc'))
    splits = make_toy_voc(
        out, seed=1, num_train_aug=60, num_train=10, num_val=5, style='parts')
    return out, splits['train_aug']


def _load(out, name):
    img = np.asarray(Image.open(osp.join(out, 'JPEGImages', f'{name}.jpg')))
    mask = np.asarray(
        Image.open(osp.join(out, 'SegmentationClassAug', f'{name}.png')))
    return img.astype(np.float32), mask


def test_labels_match_the_masks(parts_voc):
    out, names = parts_voc
    labels = np.load(osp.join(out, 'cls_labels.npy'), allow_pickle=True)
    labels = labels.item()
    for name in names:
        _, mask = _load(out, name)
        classes = set(np.unique(mask)) - {0, 255}
        assert {
            VOC_CLASSES.index(c)
            for c in np.array(VOC_CLASSES[1:])[labels[name] > 0]
        } == classes, name


def test_the_class_colour_covers_a_small_part_of_each_object(parts_voc):
    out, names = parts_voc
    shares = []
    for name in names:
        img, mask = _load(out, name)
        for cls in set(np.unique(mask)) - {0, 255}:
            colour = next(c[2] for c in TOY_CLASSES
                          if c[0] == VOC_CLASSES[cls])
            obj = mask == cls
            # the class colour (noise and brightness jitter allowed)
            near = np.abs(img - np.array(colour)).max(axis=2) < 60
            shares.append((near & obj).sum() / obj.sum())
    assert np.median(shares) < 0.3


def test_sky_co_occurs_with_the_first_class(parts_voc):
    out, names = parts_voc
    first = VOC_CLASSES.index(TOY_CLASSES[0][0])
    sky = {True: [], False: []}
    for name in names:
        img, mask = _load(out, name)
        bg = img[mask == 0]
        # a blue background: blue well above red on average
        sky[bool((mask == first).any())].append(bg[:, 2].mean() -
                                                bg[:, 0].mean() > 40)
    assert np.mean(sky[True]) > 0.6
    assert np.mean(sky[False]) < 0.3


def test_unknown_style_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='style must be one of'):
        make_toy_voc(str(tmp_path), style='blobs')
