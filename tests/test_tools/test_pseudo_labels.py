# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Pseudo-label export (resumable, sharded, CRF) and pseudo-mask scoring."""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.datasets import PascalVOCDataset
from mmseg.evaluation import IoUMetric
from PIL import Image
from subprocess_utils import run_logged, torchrun

from mmseg_wsss.apis import (build_infer_dataset, evaluate_pseudo_labels,
                             init_model, make_pseudo_labels, predict_image)
from mmseg_wsss.utils import voc_palette

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'make_pseudo_labels.py')
VOC_CLASSES = PascalVOCDataset.METAINFO['classes']

# images of the small split the export tests use
NUM_IMAGES = 16


@pytest.fixture(scope='module')
def small_root(toy_voc, tmp_path_factory):
    """The toy data set with a ``train`` split of its first images only."""
    root = tmp_path_factory.mktemp('small_voc')
    for entry in ('JPEGImages', 'SegmentationClass', 'cls_labels.npy'):
        os.symlink(osp.join(toy_voc, entry), root / entry)
    split_dir = root / 'ImageSets' / 'Segmentation'
    split_dir.mkdir(parents=True)
    with open(osp.join(toy_voc, 'ImageSets', 'Segmentation',
                       'train.txt')) as f:
        names = f.read().split()[:NUM_IMAGES]
    (split_dir / 'train.txt').write_text('\n'.join(names) + '\n')
    return str(root)


@pytest.fixture(scope='module')
def toy_model(toy_cam_checkpoint):
    cfg_path, ckpt = toy_cam_checkpoint
    return init_model(cfg_path, ckpt, prepare=True)


@pytest.fixture(scope='module')
def train_set(toy_cam_checkpoint, small_root):
    cfg = Config.fromfile(toy_cam_checkpoint[0])
    cfg.train_dataloader.dataset.data_root = small_root
    return build_infer_dataset(cfg, 'train')


@pytest.fixture(scope='module')
def reference(toy_model, train_set, tmp_path_factory):
    """An uninterrupted single-process export of the toy ``train`` split."""
    out_dir = str(tmp_path_factory.mktemp('reference'))
    summary = make_pseudo_labels(toy_model, train_set, out_dir)
    assert summary['written'] == len(train_set)
    return out_dir


def image_name(dataset, idx):
    """Base name of the image ``idx`` of ``dataset``."""
    path = dataset.get_data_info(idx)['img_path']
    return osp.splitext(osp.basename(path))[0]


def read_files(folder):
    """File name -> bytes of every file in ``folder``."""
    out = {}
    for fname in os.listdir(folder):
        with open(osp.join(folder, fname), 'rb') as f:
            out[fname] = f.read()
    return out


def test_one_valid_png_per_image(reference, train_set, toy_model):
    names = [image_name(train_set, i) for i in range(len(train_set))]
    assert sorted(os.listdir(reference)) == sorted(n + '.png' for n in names)
    seen = set()
    for idx, name in enumerate(names):
        info = train_set.get_data_info(idx)
        with Image.open(osp.join(reference, name + '.png')) as png:
            assert png.mode == 'P'
            assert png.getpalette() == voc_palette()
            label = np.array(png)
        with Image.open(info['img_path']) as img:
            assert label.shape == (img.height, img.width)
        allowed = {0, 255} | set(np.flatnonzero(info['img_labels']) + 1)
        values = set(np.unique(label).tolist())
        assert values <= allowed, name
        seen |= values
    # the network has learnt something: foreground appears
    assert len(seen - {0, 255}) >= 2
    # the PNG is the model's prediction (argmax of [bg_thr, CAMs])
    for idx in (0, 7):
        pred = predict_image(toy_model, train_set[idx]).pred_sem_seg.data[0]
        with Image.open(osp.join(reference, names[idx] + '.png')) as png:
            np.testing.assert_array_equal(np.array(png), pred.numpy())


def test_sigkill_then_resume(toy_cam_checkpoint, small_root, reference,
                             load_tool, tmp_path, capsys):
    out_dir = str(tmp_path / 'pseudo')
    cmd = [
        sys.executable, TOOL, *toy_cam_checkpoint, '--out', out_dir, '--split',
        'train', '--cfg-options',
        f'train_dataloader.dataset.data_root={small_root}'
    ]
    log = tmp_path / 'stderr.txt'
    with open(log, 'w') as stderr:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if osp.isdir(out_dir) and sum(
                    f.endswith('.png') for f in os.listdir(out_dir)) >= 3:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f'the export ended by itself: {log.read_text()[-2000:]}')
    expected = read_files(reference)
    partial = read_files(out_dir)
    done = {f for f in partial if f.endswith('.png')}
    assert 3 <= len(done) < len(expected)
    # every PNG on disk is complete: atomic writes
    for fname in done:
        assert partial[fname] == expected[fname]

    # the rerun runs in this process: the same code, one start-up less
    load_tool('make_pseudo_labels').main(cmd[2:])
    counts = re.search(r'(\d+) images written, (\d+) skipped',
                       capsys.readouterr().out)
    assert counts is not None
    assert int(counts[2]) == len(done)
    assert int(counts[1]) == len(expected) - len(done)
    # no temporary file left, and the same bytes as an uninterrupted run
    assert read_files(out_dir) == expected


def test_skip_overwrite_and_stale_temp_files(toy_model, train_set, tmp_path):
    subset = train_set.get_subset(4)
    out_dir = str(tmp_path)
    make_pseudo_labels(toy_model, subset, out_dir)
    pngs = sorted(os.listdir(out_dir))
    first = read_files(out_dir)
    for fname in pngs:
        os.utime(osp.join(out_dir, fname), (0, 0))
    # leftovers of a killed run: a temp file of a done image and of an image
    # whose PNG is missing
    for fname in pngs[:2]:
        with open(osp.join(out_dir, f'.{fname}.part'), 'wb') as f:
            f.write(b'partial')
    os.remove(osp.join(out_dir, pngs[1]))

    summary = make_pseudo_labels(toy_model, subset, out_dir)
    assert (summary['written'], summary['skipped']) == (1, 3)
    assert read_files(out_dir) == first
    assert os.stat(osp.join(out_dir, pngs[0])).st_mtime == 0
    assert os.stat(osp.join(out_dir, pngs[1])).st_mtime != 0

    summary = make_pseudo_labels(toy_model, subset, out_dir, overwrite=True)
    assert (summary['written'], summary['skipped']) == (4, 0)
    assert all(os.stat(osp.join(out_dir, f)).st_mtime != 0 for f in pngs)
    assert read_files(out_dir) == first


def test_two_shards_equal_one(toy_model, train_set, reference, tmp_path):
    written = [
        make_pseudo_labels(
            toy_model, train_set, str(tmp_path), rank=rank,
            world_size=2)['written'] for rank in (0, 1)
    ]
    # rank r takes images r::2
    assert written == [NUM_IMAGES // 2] * 2
    assert read_files(str(tmp_path)) == read_files(reference)


def test_torchrun_two_ranks_equal_one(toy_cam_checkpoint, small_root,
                                      reference, tmp_path):
    """``--launcher pytorch`` under torchrun: two gloo ranks, each a shard."""
    out_dir = tmp_path / 'pseudo'
    output = run_logged(
        torchrun(2) + [
            TOOL, *toy_cam_checkpoint, '--out',
            str(out_dir), '--split', 'train', '--launcher', 'pytorch',
            '--cfg-options', f'train_dataloader.dataset.data_root={small_root}'
        ], str(tmp_path / 'torchrun.log'))
    # rank 0 reports the sum over both ranks, once
    assert output.count('images written') == 1
    assert f'{NUM_IMAGES} images written, 0 skipped' in output
    assert read_files(str(out_dir)) == read_files(reference)


def test_shard_arguments_are_checked(toy_model, train_set, tmp_path):
    with pytest.raises(ValueError, match='rank=2, world_size=2'):
        make_pseudo_labels(
            toy_model, train_set, str(tmp_path), rank=2, world_size=2)


def test_crf_ignore_band_and_cams(toy_model, train_set, tmp_path):
    subset = train_set.get_subset(3)
    thr, band = toy_model.test_cfg.bg_thr, 0.05
    plain, crf, banded = (str(tmp_path / d) for d in ('p', 'c', 'b'))
    make_pseudo_labels(toy_model, subset, plain)
    make_pseudo_labels(toy_model, subset, crf, crf={})
    cam_dir = str(tmp_path / 'cams')
    make_pseudo_labels(
        toy_model, subset, banded, crf={}, ignore_band=band, cam_dir=cam_dir)
    assert read_files(plain) != read_files(crf)
    for idx in range(len(subset)):
        name = image_name(subset, idx) + '.png'
        sample = predict_image(toy_model, subset[idx])
        top = sample.seg_logits.data[1:].max(0).values.numpy()
        in_band = (top >= thr - band) & (top < thr + band)
        with Image.open(osp.join(banded, name)) as png:
            label = np.array(png)
        with Image.open(osp.join(crf, name)) as png:
            crf_label = np.array(png)
        np.testing.assert_array_equal(label == 255, in_band)
        np.testing.assert_array_equal(label[~in_band], crf_label[~in_band])

        present = np.flatnonzero(subset.get_data_info(idx)['img_labels'])
        with np.load(osp.join(cam_dir, name[:-4] + '.npz')) as cams:
            np.testing.assert_array_equal(cams['classes'], present + 1)
            assert cams['cams'].dtype == np.float16
            np.testing.assert_allclose(
                cams['cams'],
                sample.seg_logits.data[present + 1].numpy(),
                atol=1e-3)


def test_writer_processes_write_the_same_files(toy_model, train_set, tmp_path):
    subset = train_set.get_subset(6)
    outputs = {}
    for workers in (0, 2):
        out_dir, cam_dir = (
            str(tmp_path / f'{d}{workers}') for d in ('png', 'cams'))
        summary = make_pseudo_labels(
            toy_model,
            subset,
            out_dir,
            crf={},
            ignore_band=0.05,
            cam_dir=cam_dir,
            workers=workers)
        assert summary['written'] == 6 and summary['skipped'] == 0
        outputs[workers] = (read_files(out_dir), read_files(cam_dir))
    assert len(outputs[0][0]) == len(outputs[0][1]) == 6
    assert outputs[2] == outputs[0]


def test_a_writer_error_reaches_the_caller(toy_model, train_set, tmp_path):
    subset = train_set.get_subset(2)
    with pytest.raises(ValueError, match='workers must be >= 0'):
        make_pseudo_labels(toy_model, subset, str(tmp_path), workers=-1)
    # a folder where the second PNG goes: the writer cannot replace it
    blocked = tmp_path / (image_name(subset, 1) + '.png')
    blocked.mkdir()
    with pytest.raises(IsADirectoryError, match=str(blocked)):
        make_pseudo_labels(
            toy_model, subset, str(tmp_path), overwrite=True, workers=1)
    # the first image was written; no temporary file is left
    assert sorted(os.listdir(tmp_path)) == sorted(
        [image_name(subset, 0) + '.png', blocked.name])


def write_png(path, array):
    """Save an index mask as an 'L' mode PNG."""
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def make_masks(root, preds, gts):
    """A VOC-like folder with split ``train`` and a prediction folder."""
    os.makedirs(osp.join(root, 'ImageSets', 'Segmentation'))
    os.makedirs(osp.join(root, 'SegmentationClass'))
    os.makedirs(osp.join(root, 'pred'))
    names = [f'img_{i}' for i in range(len(gts))]
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt'),
              'w') as f:
        f.write('\n'.join(names) + '\n')
    for name, pred, gt in zip(names, preds, gts):
        if pred is not None:
            write_png(osp.join(root, 'pred', name + '.png'), pred)
        write_png(osp.join(root, 'SegmentationClass', name + '.png'), gt)
    return osp.join(root, 'pred')


def test_scores_agree_with_iou_metric(tmp_path, load_tool):
    gts = [[[0, 0, 1, 1], [0, 255, 1, 1]], [[0, 15, 15, 0], [0, 15, 255, 0]]]
    preds = [[[0, 1, 1, 1], [0, 0, 1, 255]], [[0, 15, 0, 0], [15, 15, 3, 0]]]
    pred_dir = make_masks(str(tmp_path), preds, gts)
    # By hand over the 14 pixels whose GT is not 255:
    # background: GT 7, predicted 6, both 5 -> IoU 5 / 8
    # aeroplane (1): GT 4, predicted 4 (a 255 is no class), both 3 -> 3 / 5
    # person (15): GT 3, predicted 3, both 2 -> 2 / 4
    # bird (3): predicted only where GT is 255 -> NaN, left out of the mean
    # mIoU = (5/8 + 3/5 + 2/4) / 3 = 57.5 %, aAcc = 10 / 14 = 71.43 %
    metrics = evaluate_pseudo_labels(pred_dir, str(tmp_path))
    assert metrics['mIoU'] == 57.5
    assert metrics['aAcc'] == 71.43
    assert metrics['IoU']['aeroplane'] == 60.0
    assert np.isnan(metrics['IoU']['bird'])
    # one scored pixel of 14 is predicted 255
    assert metrics['ignored'] == round(100 / 14, 2)

    metric = IoUMetric()
    metric.dataset_meta = dict(classes=VOC_CLASSES)
    metric.process({}, [
        dict(
            pred_sem_seg=dict(data=torch.tensor(p)[None]),
            gt_sem_seg=dict(data=torch.tensor(g)[None]))
        for p, g in zip(preds, gts)
    ])
    expected = metric.compute_metrics(metric.results)
    assert metrics['mIoU'] == expected['mIoU']
    assert metrics['aAcc'] == expected['aAcc']

    tool = load_tool('eval_pseudo_labels')
    out = tmp_path / 'metrics.json'
    cli = tool.main(
        [pred_dir, '--data-root',
         str(tmp_path), '--out',
         str(out)])
    assert (cli['mIoU'], cli['aAcc']) == (57.5, 71.43)
    assert '"bird": null' in out.read_text()


def test_missing_predictions_are_listed(tmp_path):
    gt = [[0, 1]]
    pred_dir = make_masks(str(tmp_path), [gt, None, None], [gt, gt, gt])
    with pytest.raises(
            FileNotFoundError,
            match=r'2 of 3 images .* no prediction .*: img_1, img_2'):
        evaluate_pseudo_labels(pred_dir, str(tmp_path))


def test_prediction_size_must_match(tmp_path):
    pred_dir = make_masks(str(tmp_path), [[[0, 1, 1]]], [[[0, 1]]])
    with pytest.raises(ValueError, match=r'img_0\.png has size \(1, 3\)'):
        evaluate_pseudo_labels(pred_dir, str(tmp_path))
