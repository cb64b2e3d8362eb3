# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The pseudo-label export through ``runner.test()`` on the toy network."""
import os
import os.path as osp

import numpy as np
import pytest
from file_utils import read_files
from mmengine.config import Config
from PIL import Image

from mmseg_wsss.apis import (build_infer_dataset, export_cfg, init_model,
                             make_pseudo_labels, predict_image)
from mmseg_wsss.postprocessing import relation_labels
from mmseg_wsss.utils import (SPLIT_FILE, image_name, read_split_names,
                              voc_palette)
from mmseg_wsss.utils.manifest import MANIFEST_FILE, UNFINISHED, read_manifest


@pytest.fixture(scope='module')
def toy_cfg(toy_cam_checkpoint, small_root):
    cfg = Config.fromfile(toy_cam_checkpoint[0])
    cfg.train_dataloader.dataset.data_root = small_root
    return cfg


@pytest.fixture(scope='module')
def toy_model(toy_cfg, toy_cam_checkpoint):
    return init_model(toy_cfg, toy_cam_checkpoint[1], prepare=True)


def export(toy_cfg, toy_cam_checkpoint, out_dir, tmp_path, **kwargs):
    """``make_pseudo_labels`` with the run's logs in ``tmp_path``."""
    return make_pseudo_labels(
        toy_cfg,
        toy_cam_checkpoint[1],
        out_dir,
        work_dir=str(tmp_path / 'logs'),
        **kwargs)


@pytest.fixture(scope='module')
def reference(toy_cfg, toy_cam_checkpoint, tmp_path_factory):
    """An uninterrupted export of the small ``train`` split."""
    tmp = tmp_path_factory.mktemp('reference')
    out_dir = str(tmp / 'pseudo')
    summary = export(toy_cfg, toy_cam_checkpoint, out_dir, tmp, split='train')
    names = read_split_names(
        osp.join(toy_cfg.train_dataloader.dataset.data_root,
                 SPLIT_FILE.format(split='train')))
    assert (summary['written'], summary['skipped']) == (len(names), 0)
    return out_dir


def test_export_config():
    cfg = Config(
        dict(
            model=dict(type='CAMSegmentor', test_cfg=dict(bg_thr=0.3)),
            train_dataloader=dict(
                dataset=dict(
                    type='WeakVOCDataset',
                    data_root='voc',
                    ann_file='ImageSets/Segmentation/train_aug.txt',
                    data_prefix=dict(img_path='JPEGImages'))),
            test_dataloader=dict(num_workers=2, persistent_workers=True),
            infer_pipeline=[dict(type='PackWSSSInputs')]))
    out = export_cfg(
        cfg,
        'ckpt.pth',
        'out',
        split='val',
        crf=dict(iters=5),
        cam_dir='out/cams',
        workers=2,
        work_dir='logs')
    assert cfg.model.test_cfg == dict(bg_thr=0.3)
    # with cam_dir the CAMs carry IRN's walk input too
    assert out.model.test_cfg == dict(
        bg_thr=0.3, labels='gt', crf=None, strided_cams=True)
    loader = out.test_dataloader
    assert (loader.batch_size, loader.num_workers) == (1, 2)
    assert loader.sampler == dict(
        type='SkipExistingSampler',
        outputs=['out/cams/{name}.npz', 'out/{name}.png'],
        overwrite=False)
    assert loader.dataset.ann_file == 'ImageSets/Segmentation/val.txt'
    assert loader.dataset.test_mode
    assert out.test_evaluator == dict(
        type='PseudoLabelWriter',
        outputs=[
            dict(kind='cams', dir='out/cams'),
            dict(
                kind='label',
                dir='out',
                bg_thr=0.3,
                crf=dict(bg_thr=0.3, iters=5),
                ignore_band=None)
        ],
        workers=2,
        backend_args=None,
        # the checkpoint is no file here: named without its hash
        manifest=dict(config=None, checkpoint='ckpt.pth', test_cfg=dict()),
        split='val',
        overwrite=False)
    assert out.load_from == 'ckpt.pth' and out.work_dir == 'logs'
    assert out.custom_hooks == [dict(type='PrepareForInferenceHook')]


def test_one_png_per_image_equal_to_the_prediction(reference, toy_cfg,
                                                   toy_model):
    dataset = build_infer_dataset(toy_cfg, 'train')
    names = [
        image_name(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ]
    assert sorted(os.listdir(reference)) == sorted([MANIFEST_FILE] +
                                                   [n + '.png' for n in names])
    seen = set()
    for idx, name in enumerate(names):
        # the independent reference: the model's thresholded prediction
        pred = predict_image(toy_model, dataset[idx]).pred_sem_seg.data[0]
        with Image.open(osp.join(reference, name + '.png')) as png:
            assert png.mode == 'P'
            assert png.getpalette() == voc_palette()
            label = np.array(png)
        np.testing.assert_array_equal(label, pred.numpy())
        allowed = {
            0
        } | set(np.flatnonzero(dataset.get_data_info(idx)['img_labels']) + 1)
        assert set(np.unique(label).tolist()) <= allowed, name
        seen |= set(np.unique(label).tolist())
    # the network has learnt something: foreground appears
    assert len(seen - {0}) >= 2


def test_resume_overwrite_and_stale_temp_files(toy_cfg, toy_cam_checkpoint,
                                               reference, tmp_path):
    out_dir = str(tmp_path / 'pseudo')
    summary = export(
        toy_cfg, toy_cam_checkpoint, out_dir, tmp_path, split='train4')
    assert (summary['written'], summary['skipped']) == (4, 0)
    pngs = sorted(f for f in os.listdir(out_dir) if f.endswith('.png'))
    first = read_files(out_dir)
    reference_files = read_files(reference)
    assert {f: first[f] for f in pngs} == {f: reference_files[f] for f in pngs}
    for fname in pngs:
        os.utime(osp.join(out_dir, fname), (0, 0))
    # leftovers of a killed run: a temp file of a done image and of an image
    # whose PNG is missing
    for fname in pngs[:2]:
        with open(osp.join(out_dir, f'.{fname}.part'), 'wb') as f:
            f.write(b'partial')
    os.remove(osp.join(out_dir, pngs[1]))

    summary = export(
        toy_cfg, toy_cam_checkpoint, out_dir, tmp_path, split='train4')
    assert (summary['written'], summary['skipped']) == (1, 3)
    assert read_files(out_dir) == first
    assert os.stat(osp.join(out_dir, pngs[0])).st_mtime == 0
    assert os.stat(osp.join(out_dir, pngs[1])).st_mtime != 0

    summary = export(
        toy_cfg,
        toy_cam_checkpoint,
        out_dir,
        tmp_path,
        split='train4',
        overwrite=True)
    assert (summary['written'], summary['skipped']) == (4, 0)
    assert all(os.stat(osp.join(out_dir, f)).st_mtime != 0 for f in pngs)
    assert read_files(out_dir) == first
    # other settings over them: the finished export clears its mark
    export(
        toy_cfg,
        toy_cam_checkpoint,
        out_dir,
        tmp_path,
        split='train4',
        bg_thr=0.5,
        overwrite=True)
    manifest = read_manifest(out_dir)
    assert manifest['settings']['bg_thr'] == 0.5
    assert UNFINISHED not in manifest


def test_crf_ignore_band_and_cams(toy_cfg, toy_cam_checkpoint, toy_model,
                                  tmp_path):
    thr, band = toy_model.test_cfg.bg_thr, 0.05
    out_dir, cam_dir = str(tmp_path / 'pseudo'), str(tmp_path / 'cams')
    export(
        toy_cfg,
        toy_cam_checkpoint,
        out_dir,
        tmp_path,
        split='train4',
        crf={},
        ignore_band=band,
        cam_dir=cam_dir)
    dataset = build_infer_dataset(toy_cfg, 'train4')
    for idx in range(len(dataset)):
        name = image_name(dataset.get_data_info(idx)['img_path'])
        sample = predict_image(toy_model, dataset[idx])
        top = sample.seg_logits.data[1:].max(0).values.numpy()
        in_band = (top >= thr - band) & (top < thr + band)
        with Image.open(osp.join(out_dir, name + '.png')) as png:
            label = np.array(png)
        np.testing.assert_array_equal(label == 255, in_band)
        present = np.flatnonzero(dataset.get_data_info(idx)['img_labels'])
        assert set(np.unique(label[~in_band])) <= {0, *(present + 1)}
        with np.load(osp.join(cam_dir, name + '.npz')) as cams:
            np.testing.assert_array_equal(cams['classes'], present + 1)
            np.testing.assert_allclose(
                cams['cams'],
                sample.seg_logits.data[present + 1].numpy(),
                atol=1e-3)


def test_relation_labels_beside_the_pseudo_labels(toy_cfg, toy_cam_checkpoint,
                                                  toy_model, tmp_path):
    out_dir, rel_dir = str(tmp_path / 'pseudo'), str(tmp_path / 'relation')
    relation = dict(conf_fg_thr=0.3, conf_bg_thr=0.05)
    outputs = dict(
        split='train4',
        cam_dir=str(tmp_path / 'cams'),
        relation_dir=rel_dir,
        relation=relation)
    summary = export(
        toy_cfg, toy_cam_checkpoint, out_dir, tmp_path, workers=1, **outputs)
    assert (summary['written'], summary['skipped']) == (4, 0)
    dataset = build_infer_dataset(toy_cfg, 'train4')
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        present = np.flatnonzero(info['img_labels'])
        sample = predict_image(toy_model, dataset[idx])
        img = np.array(Image.open(info['img_path']).convert('RGB'))
        expected = relation_labels(img,
                                   sample.seg_logits.data[present + 1].numpy(),
                                   present + 1, **relation)
        with Image.open(
                osp.join(rel_dir,
                         image_name(info['img_path']) + '.png')) as png:
            assert png.mode == 'P' and png.getpalette() == voc_palette()
            np.testing.assert_array_equal(np.array(png), expected)
    # a rerun finds every image done, relation labels included
    again = export(toy_cfg, toy_cam_checkpoint, out_dir, tmp_path, **outputs)
    assert (again['written'], again['skipped']) == (0, 4)
    with pytest.raises(ValueError, match='without a relation_dir'):
        export_cfg(toy_cfg, 'x.pth', out_dir, relation=relation)
