# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""tools/dataset_converters/voc_wsss.py on a miniature VOC devkit + SBD."""
import os
import os.path as osp
import re
import tarfile

import numpy as np
import pytest
from log_capture import current_log_records
from mini_devkit import make_mini_archives, make_mini_devkit
from PIL import Image

from mmseg_wsss.datasets import WeakVOCDataset, load_cls_labels
from mmseg_wsss.datasets.voc_aug_converter import (TRAIN_AUG_SIZE,
                                                   convert_voc_aug)
from mmseg_wsss.utils import TEMP_SUFFIX, read_index_png, voc_palette


@pytest.fixture(scope='module')
def converted(tmp_path_factory, load_tool):
    """The miniature devkit + SBD after the tool ran with two workers."""
    devkit, sbd, truth = make_mini_devkit(tmp_path_factory.mktemp('mini'))
    tool = load_tool('dataset_converters/voc_wsss')
    with current_log_records() as records:
        tool.main([devkit, sbd, '--nproc', '2'])
    return devkit, sbd, truth, records


def _assert_outputs_are(voc_root, truth):
    with open(
            osp.join(voc_root, 'ImageSets/Segmentation/train_aug.txt'),
            'rb') as f:
        assert f.read() == ''.join(f'{n}\n' for n in truth.train_aug).encode()
    mask_dir = osp.join(voc_root, 'SegmentationClassAug')
    assert sorted(os.listdir(mask_dir)) == sorted(f'{n}.png'
                                                  for n in truth.masks)
    for name, expected in truth.masks.items():
        np.testing.assert_array_equal(
            read_index_png(osp.join(mask_dir, f'{name}.png')),
            expected,
            err_msg=name)
    # IRN's way of reading it, and ours
    raw = np.load(
        osp.join(voc_root, 'cls_labels.npy'), allow_pickle=True).item()
    assert sorted(raw) == sorted(truth.labels)
    for name, vec in raw.items():
        assert vec.dtype == np.float32
        np.testing.assert_array_equal(vec, truth.labels[name], err_msg=name)
    assert load_cls_labels(osp.join(voc_root, 'cls_labels.npy')).keys() == \
        truth.labels.keys()


def test_outputs_equal_the_truth(converted):
    devkit, _, truth, records = converted
    voc_root = osp.join(devkit, 'VOC2012')
    _assert_outputs_are(voc_root, truth)
    with Image.open(
            osp.join(voc_root, 'SegmentationClassAug',
                     f'{truth.train_aug[-1]}.png')) as img:
        assert img.mode == 'P'
        assert img.getpalette() == voc_palette()
    for name in truth.detection_only:
        assert name not in truth.labels
    # the count differs from VOC's: a warning with each part's size
    counts = truth.part_counts
    warnings = [r.getMessage() for r in records if r.levelname == 'WARNING']
    assert len(warnings) == 1
    assert f'train_aug has {len(truth.train_aug)} images, not the ' \
        f'{TRAIN_AUG_SIZE:,}' in warnings[0]
    assert (f'VOC train {counts["voc_train"]} + SBD train '
            f'{counts["sbd_train"]} + SBD val {counts["sbd_val"]} - VOC val '
            f'{counts["voc_val"]}') in warnings[0]


def test_converted_root_feeds_the_dataset(converted):
    devkit, _, truth, _ = converted
    dataset = WeakVOCDataset(
        data_root=osp.join(devkit, 'VOC2012'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source='cls_labels',
        pipeline=[],
        serialize_data=False)
    assert len(dataset) == len(truth.train_aug)
    for i, name in enumerate(truth.train_aug):
        info = dataset.get_data_info(i)
        assert info['seg_map_path'].endswith(f'{name}.png')
        np.testing.assert_array_equal(info['img_labels'], truth.labels[name])


def test_rerun_skips_finished_files_and_resumes(tmp_path):
    devkit, sbd, truth = make_mini_devkit(tmp_path)
    voc_root = osp.join(devkit, 'VOC2012')
    mask_dir = osp.join(voc_root, 'SegmentationClassAug')
    # an SBD-only image with a corrupt .mat stops the run ...
    broken = osp.join(sbd, 'dataset', 'cls', f'{truth.train_aug[-1]}.mat')
    with open(broken, 'rb') as f:
        good = f.read()
    with open(broken, 'wb') as f:
        f.write(good[:len(good) // 3])
    with pytest.raises(ValueError, match=re.escape(broken)):
        convert_voc_aug(devkit, sbd)
    # ... leaving whole files only and no labels or split file
    done = sorted(os.listdir(mask_dir))
    assert done and len(done) < len(truth.masks)
    assert not [f for f in done if f.endswith(TEMP_SUFFIX)]
    assert not osp.exists(osp.join(voc_root, 'cls_labels.npy'))
    # the rerun writes what is missing only
    with open(broken, 'wb') as f:
        f.write(good)
    stamps = {f: os.stat(osp.join(mask_dir, f)).st_mtime_ns for f in done}
    counts = convert_voc_aug(devkit, sbd)
    assert counts['masks_written'] == len(truth.masks) - len(done)
    assert counts['labels'] == len(truth.labels)
    assert stamps == {
        f: os.stat(osp.join(mask_dir, f)).st_mtime_ns
        for f in done
    }
    _assert_outputs_are(voc_root, truth)
    counts = convert_voc_aug(devkit, sbd)
    assert counts['masks_written'] == counts['labels'] == 0
    assert counts['masks_kept'] == len(truth.masks)


def _corrupt_xml(devkit, sbd, truth):
    path = osp.join(devkit, 'VOC2012', 'Annotations',
                    f'{truth.train_aug[0]}.xml')
    with open(path, 'w') as f:
        f.write('<annotation><object><name>cat</name>')
    return path


def _mat_without_gtcls(devkit, sbd, truth):
    import scipy.io
    path = osp.join(sbd, 'dataset', 'cls', f'{truth.train_aug[-1]}.mat')
    scipy.io.savemat(path, dict(GTinst=dict(Segmentation=np.zeros((2, 2)))))
    return path


def _missing_folder(devkit, sbd, truth):
    path = osp.join(devkit, 'VOC2012', 'Annotations')
    os.rename(path, path + '.moved')
    return path


def _missing_sbd(devkit, sbd, truth):
    path = osp.join(sbd, 'dataset', 'cls')
    os.rename(path, path + '.moved')
    return path


@pytest.mark.parametrize('damage, error',
                         [(_corrupt_xml, ValueError),
                          (_mat_without_gtcls, ValueError),
                          (_missing_folder, FileNotFoundError),
                          (_missing_sbd, FileNotFoundError)])
def test_bad_input_errors_name_the_file(tmp_path, damage, error):
    devkit, sbd, truth = make_mini_devkit(tmp_path)
    path = damage(devkit, sbd, truth)
    with pytest.raises(error, match=re.escape(path)):
        convert_voc_aug(devkit, sbd)


def test_archives_are_extracted_next_to_themselves(tmp_path):
    voc_tar, sbd_tgz, truth = make_mini_archives(tmp_path)
    convert_voc_aug(voc_tar, sbd_tgz)
    _assert_outputs_are(osp.join(tmp_path, 'VOCdevkit', 'VOC2012'), truth)
    assert osp.isdir(osp.join(tmp_path, 'benchmark_RELEASE', 'dataset'))
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.extracting')]
    # a rerun uses the extracted folders
    with current_log_records() as records:
        counts = convert_voc_aug(voc_tar, sbd_tgz)
    assert counts['masks_written'] == 0
    assert sum('is not extracted again' in r.getMessage()
               for r in records) == 2


def test_bad_archives_are_named(tmp_path):
    truncated = osp.join(tmp_path, 'benchmark.tgz')
    _, sbd_tgz, _ = make_mini_archives(tmp_path / 'good')
    with open(sbd_tgz, 'rb') as f:
        data = f.read()
    with open(truncated, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(
            ValueError, match=re.escape(f'{truncated} is not a readable')):
        convert_voc_aug(
            osp.join(tmp_path, 'good', 'src', 'VOCdevkit'), truncated)
    assert not osp.exists(osp.join(tmp_path, 'benchmark_RELEASE'))
    other = osp.join(tmp_path, 'other.tar')
    with tarfile.open(other, 'w') as tar:
        tar.add(osp.join(tmp_path, 'good', 'src', 'VOCdevkit'), 'VOCdevkit')
    with pytest.raises(
            ValueError, match=re.escape(f"{other} holds 'VOCdevkit'")):
        convert_voc_aug(osp.join(tmp_path, 'good', 'src', 'VOCdevkit'), other)
