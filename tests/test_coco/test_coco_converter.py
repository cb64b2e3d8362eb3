# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""tools/dataset_converters/coco_wsss.py on a toy COCO 2014: masks
against the polygons and crowds, labels against the annotations, splits,
reruns and bad input."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from mmseg_wsss.datasets import WeakCOCODataset, load_cls_labels
from mmseg_wsss.datasets.coco_converter import category_labels, paint_instances
from mmseg_wsss.datasets.toy_coco import USED
from mmseg_wsss.utils import read_index_png, read_split_names


def square(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def test_paint_instances_by_hand():
    crowd = dict(counts=[0, 16], size=[4, 4])  # the whole 4 x 4 image
    label = paint_instances([(2, False, square(0, 0, 2, 2)),
                             (5, False, square(1, 1, 3, 3)), (7, True, crowd)],
                            4, 4)
    # the later object wins the overlap; the crowd fills what is left
    np.testing.assert_array_equal(label,
                                  [[2, 2, 255, 255], [2, 5, 5, 255],
                                   [255, 5, 5, 255], [255, 255, 255, 255]])
    label = paint_instances([(7, True, crowd), (2, False, square(0, 0, 2, 2))],
                            4,
                            4,
                            crowd_as_background=True)
    assert label.sum() == 2 * 4 and set(np.unique(label)) == {0, 2}


def test_category_ids_map_to_labels_in_id_order(mini_coco):
    root, _ = mini_coco
    with open(osp.join(root, 'annotations', 'instances_val2014.json')) as f:
        cats = json.load(f)['categories']
    mapping = category_labels(cats, 'x.json')
    assert {
        cid: mapping[cid]
        for cid, _, _ in USED
    } == {
        cid: label
        for cid, _, label in USED
    }
    assert sorted(mapping.values()) == list(range(1, 81))
    with pytest.raises(ValueError, match="x.json: category id 12 .'hat'."):
        category_labels([dict(id=12, name='hat')], 'x.json')
    with pytest.warns(
            UserWarning,
            match="named 'people', COCO calls it "
            "'person'; it becomes label 1"):
        assert category_labels([dict(id=1, name='people')], 'x.json')[1] == 1


def test_masks_labels_and_splits(toy_coco):
    root, truth = toy_coco
    checked = 0
    for name, want in truth.items():
        mask = read_index_png(
            osp.join(root, 'SegmentationClass', name + '.png'))
        care = want['care']
        np.testing.assert_array_equal(mask[care], want['mask'][care], name)
        # crowd regions no object covers are ignored, edges or not
        assert (mask[want['crowd']] == 255).all()
        checked += care.sum()
    assert checked > 0.8 * sum(t['mask'].size for t in truth.values())
    labels = load_cls_labels(osp.join(root, 'cls_labels.npy'), num_classes=80)
    assert labels.keys() == truth.keys()
    for name, want in truth.items():
        np.testing.assert_array_equal(labels[name], want['labels'], name)
    for split in ('train', 'val'):
        names = read_split_names(osp.join(root, 'ImageSets', split + '.txt'))
        # every image, those without annotations too, in image-id order
        assert names == [
            n for n in truth if truth[n]['split'] == split + '2014'
        ]
    dataset = WeakCOCODataset(data_root=root, ann_file='ImageSets/train.txt')
    assert len(dataset) == 14
    assert sum(not d['img_labels'].any() for d in dataset) == 1


def test_switches_rerun_and_settings(mini_coco, tmp_path, load_tool):
    src, truth = mini_coco
    root = str(tmp_path / 'coco')
    shutil.copytree(src, root)
    tool = load_tool('dataset_converters/coco_wsss')
    out = str(tmp_path / 'out')
    tool.main([
        root, '--out', out, '--crowd-as-background', '--skip-empty-train',
        '--nproc', '2'
    ])
    train = read_split_names(osp.join(out, 'ImageSets', 'train.txt'))
    assert len(train) == 13 and all(truth[n]['labels'].any() for n in train)
    assert len(read_split_names(osp.join(out, 'ImageSets', 'val.txt'))) == 4
    for name, want in truth.items():
        if name not in train and want['split'] == 'train2014':
            continue
        mask = read_index_png(
            osp.join(out, 'SegmentationClass', name + '.png'))
        assert 255 not in mask
        assert (mask[want['crowd']] == 0).all()
    # a rerun keeps every file (same bytes, same times)
    files = sorted(os.listdir(osp.join(out, 'SegmentationClass')))
    before = {
        f: os.stat(osp.join(out, 'SegmentationClass', f)).st_mtime_ns
        for f in files
    }
    labels_time = os.stat(osp.join(out, 'cls_labels.npy')).st_mtime_ns
    tool.main(
        [root, '--out', out, '--crowd-as-background', '--skip-empty-train'])
    assert {
        f: os.stat(osp.join(out, 'SegmentationClass', f)).st_mtime_ns
        for f in files
    } == before
    assert os.stat(osp.join(out, 'cls_labels.npy')).st_mtime_ns == \
        labels_time
    # masks of the other crowd setting are not mixed in
    with pytest.raises(ValueError, match='crowd_as_background": true'):
        tool.main([root, '--out', out])


def test_missing_inputs_are_named(mini_coco, tmp_path, load_tool):
    src, truth = mini_coco
    root = str(tmp_path / 'coco')
    shutil.copytree(src, root)
    tool = load_tool('dataset_converters/coco_wsss')
    gone = next(n for n in truth if truth[n]['split'] == 'val2014')
    os.remove(osp.join(root, 'val2014', gone + '.jpg'))
    with pytest.raises(FileNotFoundError, match=gone):
        tool.main([root])
    os.remove(osp.join(root, 'annotations', 'instances_train2014.json'))
    with pytest.raises(
            FileNotFoundError, match='instances_train2014.json not found'):
        tool.main([root])
    assert not osp.exists(osp.join(root, 'cls_labels.npy'))
