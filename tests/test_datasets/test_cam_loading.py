# Copyright (c) mmseg-wsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import TRANSFORMS
from PIL import Image

import mmseg_wsss  # noqa: F401


def _image(tmp_path, name='2007_000001', shape=(6, 8)):
    """A black 6 x 8 image file."""
    img_dir = tmp_path / 'img'
    img_dir.mkdir(exist_ok=True)
    path = img_dir / f'{name}.png'
    Image.fromarray(np.zeros(shape + (3, ), np.uint8)).save(path)
    return str(path)


def _cam_file(tmp_path, name='2007_000001', **arrays):
    """A CAM file as the pseudo-label export writes it (by default CAMs of
    classes 3 and 15 for a 6 x 8 image); returns the CAM folder."""
    cam_dir = tmp_path / 'cams'
    cam_dir.mkdir(exist_ok=True)
    if not arrays:
        cams = np.stack([np.full((6, 8), 0.5), np.eye(6, 8)])
        # at stride 4: (6 - 1) // 4 + 1 = 2 rows, (8 - 1) // 4 + 1 = 2 cols
        strided = np.arange(8, dtype=np.float32).reshape(2, 2, 2) / 7
        arrays = dict(
            cams=cams.astype(np.float16),
            classes=np.array([3, 15], np.uint8),
            strided_cams=strided)
    np.savez(cam_dir / f'{name}.npz', **arrays)
    return str(cam_dir)


def _pipeline(cam_dir):
    init_default_scope('mmseg')
    load_img = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    load_cams = TRANSFORMS.build(dict(type='LoadCAMFromFile', cam_dir=cam_dir))
    pack = TRANSFORMS.build(dict(type='PackCAMInputs'))
    return load_img, load_cams, pack


def test_load_and_pack_cams(tmp_path):
    img_path, cam_dir = _image(tmp_path), _cam_file(tmp_path)
    load_img, load_cams, pack = _pipeline(cam_dir)
    results = load_cams(load_img(dict(img_path=img_path)))
    assert results['cams'].dtype == np.float32
    assert results['cams'].shape == (2, 6, 8)
    assert results['cam_classes'].tolist() == [3, 15]
    sample = pack(results)['data_samples']
    assert torch.equal(sample.cams[1], torch.eye(6, 8))
    assert sample.cam_classes.dtype == torch.int64
    assert sample.cam_classes.tolist() == [3, 15]
    assert sample.img_path == img_path
    expected = torch.arange(8.).view(2, 2, 2) / 7
    assert torch.equal(sample.strided_cams, expected)
    # files without stride-4 CAMs still load (IRN asks for them)
    _cam_file(
        tmp_path, cams=np.zeros((1, 6, 8)), classes=np.array([1], np.uint8))
    sample = pack(load_cams(load_img(dict(img_path=img_path))))
    assert 'strided_cams' not in sample['data_samples']


def test_load_cams_errors_name_the_file(tmp_path):
    img_path, cam_dir = _image(tmp_path), _cam_file(tmp_path)
    load_img, load_cams, pack = _pipeline(cam_dir)
    results = load_img(dict(img_path=img_path))
    other = _image(tmp_path, name='2007_000002')
    with pytest.raises(FileNotFoundError, match='2007_000002.npz'):
        load_cams(load_img(dict(img_path=other)))
    bad = [
        (dict(cams=np.zeros((1, 6, 8))), KeyError, 'no'),
        (dict(cams=np.zeros((6, 8)),
              classes=np.array([1])), ValueError, r'\(K, H, W\)'),
        (dict(cams=np.zeros((1, 6, 8)),
              classes=np.array([0])), ValueError, 'mask indices'),
        (dict(cams=np.zeros((2, 6, 8)),
              classes=np.array([4, 4])), ValueError, 'distinct'),
        (dict(cams=np.full((1, 6, 8), np.nan),
              classes=np.array([1])), ValueError, 'non-finite'),
        (dict(cams=np.zeros((1, 3, 4)),
              classes=np.array([1])), ValueError, 'size'),
        (dict(
            cams=np.zeros((1, 6, 8)),
            classes=np.array([1]),
            strided_cams=np.zeros((1, 6, 8))), ValueError, r'\(1, 2, 2\)'),
        (dict(
            cams=np.zeros((1, 6, 8)),
            classes=np.array([1]),
            strided_cams=np.full(
                (1, 2, 2), np.inf)), ValueError, 'non-finite strided_cams'),
    ]
    for arrays, error, message in bad:
        _cam_file(tmp_path, **arrays)
        with pytest.raises(error, match=message) as info:
            load_cams(dict(results))
        assert '2007_000001.npz' in str(info.value)
    (tmp_path / 'cams' / '2007_000001.npz').write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='not a readable .npz'):
        load_cams(dict(results))
    with pytest.raises(KeyError, match='LoadCAMFromFile'):
        pack(dict(results))
    with pytest.raises(ValueError, match='cam_dir'):
        TRANSFORMS.build(dict(type='LoadCAMFromFile', cam_dir=''))
