# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""PseudoLabelWriter on hand-made predictions: files against labels worked
out by hand, writer processes, errors."""
import logging
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from PIL import Image

from mmseg_wsss.evaluation import PseudoLabelWriter
from mmseg_wsss.postprocessing import DenseCRF, relation_labels
from mmseg_wsss.utils import voc_palette

THR = 0.25
# CAMs of classes 1 (aeroplane) and 3 (bird) of 20, on a 2 x 4 image
AEROPLANE = [[0.9, 0.3, 0.26, 0.1], [0.0, 0.21, 0.27, 0.5]]
BIRD = [[0.1, 0.6, 0.0, 0.1], [0.0, 0.1, 0.2, 0.9]]
# argmax of [THR, CAMs], ties to background, by hand
LABEL = [[1, 3, 1, 0], [0, 0, 1, 3]]
# top scores in the band [THR - 0.05, THR + 0.05): 0.26, 0.21 and 0.27
BANDED = [[1, 3, 255, 0], [0, 255, 255, 3]]


def _sample(img_path, h=2, w=4, aeroplane=AEROPLANE, bird=BIRD):
    """A CAM segmentor's prediction with labels='gt', as a dict."""
    cams = torch.zeros(20, h, w)
    cams[0] = torch.tensor(aeroplane)
    cams[2] = torch.tensor(bird)
    logits = torch.cat([torch.full((1, h, w), THR), cams])
    sample = SegDataSample(metainfo=dict(img_path=img_path))
    sample.seg_logits = PixelData(data=logits)
    sample.pred_sem_seg = PixelData(data=torch.tensor(LABEL)[None])
    labels = torch.zeros(20)
    labels[[0, 2]] = 1
    sample.set_data(dict(img_labels=labels))
    return sample.to_dict()


@pytest.fixture
def images(tmp_path):
    """Three RGB images on disk (the CRF reads them)."""
    paths = []
    rng = np.random.default_rng(0)
    for i in range(3):
        path = tmp_path / 'img' / f'im{i}.jpg'
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (2, 4, 3), np.uint8)).save(path)
        paths.append(str(path))
    return paths


def _writer(outputs, **kwargs):
    init_default_scope('mmseg')
    writer = METRICS.build(
        dict(type='PseudoLabelWriter', outputs=outputs, **kwargs))
    writer.dataset_meta = dict(palette=None)
    return writer


def _read(path):
    with Image.open(path) as png:
        assert png.mode == 'P' and png.getpalette() == voc_palette()
        return np.array(png)


def test_label_png_and_band_by_hand(images, tmp_path):
    writer = _writer([
        dict(kind='label', dir=str(tmp_path / 'plain'), bg_thr=THR),
        dict(
            kind='label',
            dir=str(tmp_path / 'band'),
            bg_thr=THR,
            ignore_band=0.05)
    ])
    writer.process({}, [_sample(p) for p in images[:2]])
    assert writer.evaluate(2) == {'export/written': 2}
    for name in ('im0', 'im1'):
        np.testing.assert_array_equal(
            _read(tmp_path / 'plain' / f'{name}.png'), LABEL)
        np.testing.assert_array_equal(
            _read(tmp_path / 'band' / f'{name}.png'), BANDED)
    assert sorted(os.listdir(tmp_path / 'plain')) == ['im0.png', 'im1.png']


def test_cams_npz_and_crf(images, tmp_path):
    crf = dict(iters=2)
    writer = _writer([
        dict(kind='cams', dir=str(tmp_path / 'cams')),
        dict(kind='label', dir=str(tmp_path), bg_thr=THR, crf=crf)
    ])
    writer.process({}, [_sample(images[0])])
    writer.evaluate(1)
    with np.load(tmp_path / 'cams' / 'im0.npz') as npz:
        np.testing.assert_array_equal(npz['classes'], [1, 3])
        assert npz['cams'].dtype == np.float16
        np.testing.assert_allclose(npz['cams'], [AEROPLANE, BIRD], atol=1e-3)
    cams = np.zeros((20, 2, 4), np.float32)
    cams[[0, 2]] = [AEROPLANE, BIRD]
    img = np.array(Image.open(images[0]).convert('RGB'))
    expected = DenseCRF(bg_thr=THR, **crf)(img, cams).argmax(0)
    np.testing.assert_array_equal(_read(tmp_path / 'im0.png'), expected)


class _Records(logging.Handler):
    """Collects the log records of mmengine's current logger."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_relation_labels_png_and_a_warning_without_confident_pixels(
        images, tmp_path):
    writer = _writer([
        dict(kind='cams', dir=str(tmp_path / 'cams')),
        dict(
            kind='relation',
            dir=str(tmp_path / 'rel'),
            conf_fg_thr=0.3,
            conf_bg_thr=0.05,
            crf=dict(iters=2)),
    ])
    # im1's CAMs lie between the thresholds everywhere: the high background
    # score beats them, the low one loses to them, no pixel is sure
    unsure = [[0.2] * 4] * 2
    records = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        writer.process({}, [_sample(images[0])])
        writer.process({}, [_sample(images[1], aeroplane=unsure, bird=unsure)])
        assert writer.evaluate(2) == {'export/written': 2}
    finally:
        logger.removeHandler(records)
    img = np.array(Image.open(images[0]).convert('RGB'))
    expected = relation_labels(
        img,
        np.array([AEROPLANE, BIRD], np.float32), [1, 3],
        0.3,
        0.05,
        crf=dict(iters=2))
    np.testing.assert_array_equal(
        _read(tmp_path / 'rel' / 'im0.png'), expected)
    # the aeroplane's peak is sure of itself, its margin is not
    assert 1 in expected and 255 in expected
    np.testing.assert_array_equal(
        _read(tmp_path / 'rel' / 'im1.png'), np.full((2, 4), 255))
    assert [m for m in records.messages if 'no confident pixel' in m] == [
        f'{images[1]}: no confident pixel in its CAMs; its relation labels '
        'are all 255 (unknown)'
    ]


def test_writer_processes_write_the_same_files_and_raise_errors(
        images, tmp_path):
    files = {}
    for workers in (0, 2):
        out = tmp_path / str(workers)
        writer = _writer([
            dict(kind='cams', dir=str(out / 'cams')),
            dict(
                kind='label',
                dir=str(out),
                bg_thr=THR,
                crf=dict(iters=2),
                ignore_band=0.05)
        ],
                         workers=workers)
        if workers:
            # a folder where the last PNG goes: its writer cannot replace it
            (out / 'im2.png').mkdir()
            with pytest.raises(IsADirectoryError, match='im2.png'):
                for path in images:
                    writer.process({}, [_sample(path)])
                writer.evaluate(3)
            (out / 'im2.png').rmdir()
        else:
            for path in images:
                writer.process({}, [_sample(path)])
            assert writer.evaluate(3) == {'export/written': 3}
        files[workers] = {
            osp.relpath(osp.join(root, f), out):
            open(osp.join(root, f), 'rb').read()
            for root, _, names in os.walk(out)
            for f in names
        }
    assert len(files[0]) == 6
    # all but the blocked PNG, byte for byte
    assert files[2] == {k: v for k, v in files[0].items() if k != 'im2.png'}


def test_stale_temporary_files_are_removed(images, tmp_path):
    (tmp_path / '.im2.png.part').write_bytes(b'killed')
    (tmp_path / '.other.txt.part').write_bytes(b'not ours')
    writer = _writer([dict(kind='label', dir=str(tmp_path), bg_thr=THR)])
    writer.process({}, [_sample(images[0])])
    writer.evaluate(1)
    assert sorted(
        os.listdir(tmp_path)) == ['.other.txt.part', 'im0.png', 'img']


def test_arguments_are_checked(tmp_path):
    out = str(tmp_path)
    with pytest.raises(ValueError, match='a kind'):
        PseudoLabelWriter([dict(kind='affinity', dir=out)])
    with pytest.raises(ValueError, match='and a dir'):
        PseudoLabelWriter([dict(kind='label', bg_thr=THR)])
    with pytest.raises(ValueError, match='bg_thr must lie in'):
        PseudoLabelWriter([dict(kind='label', dir=out, bg_thr=1.5)])
    with pytest.raises(ValueError, match='ignore_band must be >= 0'):
        PseudoLabelWriter(
            [dict(kind='label', dir=out, bg_thr=THR, ignore_band=-1)])
    with pytest.raises(KeyError, match='unknown keys'):
        PseudoLabelWriter(
            [dict(kind='label', dir=out, bg_thr=THR, crf=dict(itrs=3))])
    with pytest.raises(ValueError, match='conf_bg_thr <= conf_fg_thr'):
        PseudoLabelWriter(
            [dict(kind='relation', dir=out, conf_fg_thr=0.1, conf_bg_thr=0.2)])
    with pytest.raises(ValueError, match='workers must be >= 0'):
        PseudoLabelWriter([dict(kind='cams', dir=out)], workers=-1)
    assert PseudoLabelWriter.output_files(
        [dict(kind='cams', dir='a/cams'),
         dict(kind='label',
              dir='a')]) == ['a/cams/{name}.npz', 'a/{name}.png']
