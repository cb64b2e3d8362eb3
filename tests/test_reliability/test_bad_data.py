# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Bad data: wrong masks, odd image modes, tiny and huge images."""
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from PIL import Image

from mmseg_wsss.datasets import WeakVOCDataset
from mmseg_wsss.models.utils import batch_classes, valid_pixels

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_DATA = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'toy_voc.py')
TOY_METHOD = osp.join(REPO_ROOT, 'configs', 'toy',
                      'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
SPLIT_DIR = osp.join('ImageSets', 'Segmentation')
TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]


def _names(root, split='train'):
    with open(osp.join(root, SPLIT_DIR, f'{split}.txt')) as f:
        return f.read().split()


def _paths(root, name):
    return (osp.join(root, 'JPEGImages', name + '.jpg'),
            osp.join(root, 'SegmentationClass', name + '.png'))


def _build(root, split='train', **kwargs):
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(
            type='WeakVOCDataset',
            data_root=root,
            ann_file=osp.join(SPLIT_DIR, f'{split}.txt'),
            **kwargs))


def _rewrite_mask(path, edit):
    """Replace a 'P' mask by ``edit(array)``, keeping its palette."""
    with Image.open(path) as mask:
        palette = mask.getpalette()
        array = np.array(mask)
    out = Image.fromarray(edit(array))
    out.putpalette(palette)
    out.save(path)


@pytest.mark.parametrize('label_source', ['mask', 'xml'])
def test_mask_of_another_size_is_named_at_build(small_voc, label_source):
    img_path, mask_path = _paths(small_voc, _names(small_voc)[1])
    _rewrite_mask(mask_path, lambda m: np.pad(m, ((0, 0), (0, 3))))
    h, w = np.asarray(Image.open(img_path)).shape[:2]
    with pytest.raises(
            ValueError,
            match=rf'mask .*{re.escape(osp.basename(mask_path))} is '
            rf'{h}x{w + 3} \(HxW\) but its image .*'
            rf'{re.escape(osp.basename(img_path))} is {h}x{w}'):
        _build(small_voc, label_source=label_source)


def test_rgb_mask_is_named_at_build(small_voc):
    _, mask_path = _paths(small_voc, _names(small_voc)[0])
    Image.open(mask_path).convert('RGB').save(mask_path)
    with pytest.raises(ValueError, match=r"\.png is a 'RGB' image"):
        _build(small_voc, label_source='xml')


def test_exif_rotated_image_with_its_mask_is_accepted(small_voc):
    # the image stored sideways with EXIF orientation 6 (rotate 90 degrees
    # clockwise to view): decoders show it upright, the size of its mask
    name = _names(small_voc)[0]
    img_path, mask_path = _paths(small_voc, name)
    upright = Image.open(img_path)
    assert upright.width != upright.height
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(
        img_path, exif=exif.tobytes(), quality=95)
    dataset = _build(small_voc, pipeline=TEST_PIPELINE)
    packed = dataset[0]
    gt_shape = packed['data_samples'].gt_sem_seg.shape
    assert packed['inputs'].shape[1:] == gt_shape


@pytest.mark.parametrize('label_source', ['mask', 'auto'])
def test_mask_values_outside_classes_are_named(small_voc, label_source):
    _, mask_path = _paths(small_voc, _names(small_voc)[2])

    def add_bad_values(mask):
        mask[0, :2] = (21, 100)
        return mask

    _rewrite_mask(mask_path, add_bad_values)
    match = re.escape(osp.basename(mask_path)) + r' has values \[21, 100\]'
    if label_source == 'mask':
        # the masks are the label source: read at build
        with pytest.raises(ValueError, match=match):
            _build(small_voc, label_source=label_source)
        return
    # labels from cls_labels.npy; the mask is read for evaluation only
    dataset = _build(small_voc, pipeline=TEST_PIPELINE)
    gt = dataset[0]['data_samples'].gt_sem_seg.data
    assert set(gt.unique().tolist()) <= set(range(21)) | {255}
    with pytest.raises(ValueError, match=match + r' that are neither'):
        dataset[2]


def _convert_images(root, mode, fmt):
    """Store the ``train`` images in PIL ``mode`` as ``fmt``; their suffix."""
    suffix = '.png' if fmt == 'PNG' else '.jpg'
    for name in _names(root):
        img_path, _ = _paths(root, name)
        img = Image.open(img_path).convert('RGB')
        if mode == 'I;16':
            img = Image.fromarray(
                np.asarray(img.convert('L'), np.uint16) * 257)
        else:
            img = img.convert(mode)
        img.save(osp.join(root, 'JPEGImages', name + suffix), fmt)
    return suffix


@pytest.mark.parametrize('mode, fmt', [('L', 'JPEG'), ('CMYK', 'JPEG'),
                                       ('RGBA', 'PNG'), ('LA', 'PNG'),
                                       ('P', 'PNG'), ('I;16', 'PNG')])
def test_grey_alpha_palette_and_cmyk_images_load_as_three_channels(
        small_voc, mode, fmt):
    suffix = _convert_images(small_voc, mode, fmt)
    train_pipeline = Config.fromfile(TOY_DATA).train_pipeline
    for pipeline in (TEST_PIPELINE, train_pipeline):
        dataset = _build(small_voc, img_suffix=suffix, pipeline=pipeline)
        for i in range(len(dataset)):
            packed = dataset[i]
            assert packed['inputs'].shape[0] == 3
            assert packed['inputs'].dtype == torch.uint8
    if mode == 'RGBA':
        # the colour is kept (alpha dropped), in mmcv's BGR order
        dataset = _build(small_voc, img_suffix=suffix, pipeline=TEST_PIPELINE)
        rgb = np.asarray(
            Image.open(dataset.get_data_info(0)['img_path']).convert('RGB'))
        bgr = dataset[0]['inputs'].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(bgr, rgb[..., ::-1])


@pytest.mark.parametrize('mode, color_type', [('L', 'grayscale'),
                                              ('RGBA', 'unchanged')])
def test_image_that_is_not_three_channels_is_named(small_voc, mode,
                                                   color_type):
    suffix = _convert_images(small_voc, mode, 'PNG')
    info = _build(small_voc, img_suffix=suffix).get_data_info(0)
    pipeline = Compose([
        dict(type='LoadImageFromFile', color_type=color_type),
        dict(type='PackWSSSInputs')
    ])
    with pytest.raises(
            ValueError,
            match=re.escape(osp.basename(info['img_path'])) +
            r' has shape .*3-channel'):
        pipeline(info)


def test_tiny_images_train_and_their_padding_is_ignored(
        tmp_path, make_toy_voc):
    root = str(tmp_path / 'tiny')
    make_toy_voc(
        root,
        seed=2,
        num_train_aug=4,
        num_train=2,
        num_val=1,
        min_size=8,
        max_size=12)
    cfg = Config.fromfile(TOY_METHOD)
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(cfg.train_dataloader.dataset, data_root=root))
    assert isinstance(dataset, WeakVOCDataset)
    assert max(
        max(Image.open(dataset.get_data_info(i)['img_path']).size)
        for i in range(len(dataset))) <= 12
    model = MODELS.build(
        dict(
            cfg.model,
            train_cfg=dict(cfg.model.train_cfg, self_sup_start_iter=0)))
    model.init_weights()
    model.update_support()
    model.train()
    data = model.data_preprocessor(
        pseudo_collate([dataset[i] for i in range(len(dataset))]), True)
    # upscaled by RandomResize to a long side of 64..128, short sides stay
    # below the 96 x 96 crop: the data preprocessor pads them
    assert data['inputs'].shape[-2:] == (96, 96)
    assert any(sum(s.padding_size) > 0 for s in data['data_samples'])
    losses = model.loss(**data)
    assert set(losses) == {'cam.loss_cls', 'cam.loss_rcm', 'cam.loss_mam'}
    assert all(torch.isfinite(v) for v in losses.values())


def test_padding_takes_no_part_in_the_mam_loss(tiny_model, tiny_batch):
    model = tiny_model(mam_head=dict(type='MAMHead', main_scales=(1.0, )))
    inputs, samples = tiny_batch([[1, 0, 1], [0, 1, 0]])
    samples[0].set_metainfo(dict(padding_size=(0, 12, 0, 5)))
    valid = valid_pixels(inputs, samples)
    gen = torch.Generator().manual_seed(1)
    # maps at crop size, so that a pixel's gradient is its own
    cams = torch.rand(2, 3, 32, 32, generator=gen, requires_grad=True)
    support = [torch.rand(2, 3, 32, 32, generator=gen) for _ in range(2)]
    labels = torch.stack([s.img_labels for s in samples])
    present = batch_classes(labels)

    def mam_loss(support):
        return model.mam_head.loss(
            model.mam_head.targets(None, inputs, cams, support, labels,
                                   present, valid))['loss_mam']

    loss = mam_loss(support)
    loss.backward()
    grad = cams.grad.abs().sum(dim=1)
    assert grad[0][~valid[0]].sum() == 0
    assert (grad[0][valid[0]] > 0).float().mean() > 0.9
    # what SupportNet says about the padding changes nothing either
    noisy = [u.clone() for u in support]
    for u in noisy:
        u[0][:, ~valid[0]] = 100.0
    assert torch.equal(mam_loss(noisy), loss)


def test_max_side_bounds_the_network_input_of_huge_images(tiny_model):
    model = tiny_model(
        'CAMSegmentor',
        test_cfg=dict(
            scales=(1.0, 0.5), flip=True, max_side=40, labels='pred')).eval()
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        cams = model.predict_cams(torch.randn(1, 3, 160, 100))
    assert cams.shape == (1, 3, 160, 100)
    assert cams.isfinite().all() and cams.max() <= 1
    # the label prediction and both scales ran on the downscaled copy:
    # 160 x 100 -> 40 x 25 at scale 1.0, 20 x round(12.5) = 20 x 12 at 0.5
    assert set(seen) == {(40, 25), (20, 12)}

    # an image within the limit is left as it is
    small = torch.randn(1, 3, 40, 30)
    with torch.no_grad():
        limited = model.predict_cams(small)
        model.test_cfg.max_side = None
        free = model.predict_cams(small)
    assert torch.equal(limited, free)
