# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_wsss  # noqa: F401

NUM_CLASSES = 5
# a ResNet-18 at 1/8 width; levels at strides 4, 8, 8, 8
BACKBONE = dict(
    type='ResNetV1c',
    depth=18,
    stem_channels=8,
    base_channels=8,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    contract_dilation=True)


def _model(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='IRNSegmentor',
        num_classes=NUM_CLASSES,
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True),
        backbone=BACKBONE,
        boundary_head=dict(
            type='BoundaryHead',
            in_channels=(8, 16, 32, 64),
            channels=8,
            loss_decode=dict(type='AffinityLoss', radius=3)),
        test_cfg=dict(radius=3, exp_times=5))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _sample(size=(32, 40), cams=None, classes=(2, )):
    """A sample of an image of ``size`` with strided CAMs (K, h, w) of
    ``classes`` at stride 4 (random ones unless given)."""
    h, w = size
    sample = SegDataSample()
    sample.set_metainfo(
        dict(img_path='x/img.jpg', img_shape=size, ori_shape=size))
    if cams is None:
        cams = torch.rand(len(classes), (h - 1) // 4 + 1, (w - 1) // 4 + 1)
    sample.set_data(
        dict(
            strided_cams=cams,
            cam_classes=torch.tensor(classes, dtype=torch.long)))
    sample.gt_sem_seg = PixelData(
        data=torch.randint(0, 3, (1, h, w), dtype=torch.long))
    return sample


def test_training_leaves_the_frozen_backbone_alone():
    torch.manual_seed(0)
    model = _model()
    model.train()
    assert not model.backbone.training
    assert model.boundary_head.training
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    inputs = torch.rand(2, 3, 32, 40)
    losses = model.loss(inputs, [_sample(), _sample()])
    assert set(losses) == {'boundary.loss_aff'}
    losses['boundary.loss_aff'].backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.boundary_head.boundary_conv.weight.grad is not None
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, before[key]), key  # BN statistics too


def test_unfrozen_backbone_trains():
    model = _model(freeze_backbone=False)
    model.train()
    assert model.backbone.training
    losses = model.loss(torch.rand(1, 3, 32, 40), [_sample()])
    losses['boundary.loss_aff'].backward()
    assert all(p.grad is not None for p in model.backbone.parameters())


def test_predict_outputs_and_classes():
    torch.manual_seed(0)
    model = _model().eval()
    samples = [_sample(classes=(2, 5)), _sample(classes=())]
    with torch.no_grad():
        results = model.predict(torch.rand(2, 3, 32, 40), samples)
    for result in results:
        assert result.seg_logits.data.shape == (NUM_CLASSES + 1, 32, 40)
        assert result.pred_sem_seg.data.shape == (1, 32, 40)
        boundary = result.boundary_map.data
        assert boundary.shape == (1, 32, 40)
        assert 0 <= boundary.min() and boundary.max() <= 1
    first, second = (r.seg_logits.data for r in results)
    # background is the constant threshold, absent classes score 0, and
    # the walked maps are scaled to a maximum of 1 over the image
    assert torch.equal(first[0], torch.full((32, 40), 0.25))
    assert first[[1, 3, 4]].abs().sum() == 0
    assert torch.isclose(first[[2, 5]].max(), torch.tensor(1.0))
    assert set(results[0].pred_sem_seg.data.unique().tolist()) <= {0, 2, 5}
    # an image without classes is all background
    assert second[1:].abs().sum() == 0
    assert results[1].pred_sem_seg.data.unique().tolist() == [0]


def _constant_boundary(model, logit):
    """Make the boundary map sigmoid(logit) everywhere."""
    conv = model.boundary_head.boundary_conv
    torch.nn.init.zeros_(conv.weight)
    torch.nn.init.constant_(conv.bias, logit)


def _half_cam():
    """One class, scored 1 on the left half of a 32 x 40 image, 0.1 on the
    right half, at stride 4 (8 x 10)."""
    cams = torch.full((1, 8, 10), 0.1)
    cams[..., :5] = 1.0
    return cams


def test_boundaries_everywhere_leave_the_thresholded_cams():
    # boundary ~1 everywhere (1 - 3e-4): affinities ~0, the walk keeps
    # every pixel's score, and the refined mask is the CAM thresholded at
    # bg_thr
    model = _model().eval()
    _constant_boundary(model, 8.0)
    with torch.no_grad():
        result = model.predict(
            torch.rand(1, 3, 32, 40), [_sample(cams=_half_cam())])[0]
    pred = result.pred_sem_seg.data[0]
    assert (pred[:, :16] == 2).all() and (pred[:, 24:] == 0).all()


def test_no_boundary_spreads_the_class_over_the_image():
    # boundary ~0 (3e-4): the walk averages the class score over the
    # image, so every pixel ends near the maximum and above bg_thr
    model = _model(test_cfg=dict(radius=3, exp_times=8)).eval()
    _constant_boundary(model, -8.0)
    with torch.no_grad():
        result = model.predict(
            torch.rand(1, 3, 32, 40), [_sample(cams=_half_cam())])[0]
    assert (result.pred_sem_seg.data == 2).all()


def test_predict_errors():
    model = _model().eval()
    inputs = torch.rand(1, 3, 32, 40)
    with pytest.raises(ValueError, match='needs data samples'):
        model.predict(inputs)
    sample = SegDataSample()
    sample.set_metainfo(dict(img_path='x/nocams.jpg'))
    with pytest.raises(KeyError, match='nocams.jpg has no cams'):
        model.predict(inputs, [sample])
    # a CAM file exported without the stride-4 CAMs
    sample.cam_classes = torch.tensor([2])
    with pytest.raises(KeyError, match='no strided_cams.*export the CAMs'):
        model.predict(inputs, [sample])
    with pytest.raises(ValueError, match='must lie in 1..5'):
        model.predict(inputs, [_sample(classes=(6, ))])


@pytest.mark.parametrize('test_cfg, message', [
    (dict(radius=1), 'radius'),
    (dict(beta=0), 'beta'),
    (dict(exp_times=-1), 'exp_times'),
    (dict(bg_thr=1.5), 'bg_thr'),
    (dict(flip=1), 'flip'),
    (dict(bg_thres=0.2), 'unknown keys'),
    (dict(crf=True), 'crf'),
    (dict(pad_size=64), 'pad_size'),
    (dict(pad_size=(64, 0)), 'pad_size'),
])
def test_test_cfg_checks(test_cfg, message):
    with pytest.raises(ValueError, match=message):
        _model(test_cfg=test_cfg)


def test_crf_moves_the_refined_border_to_the_colour_edge():
    # the walk keeps the scores (boundaries everywhere): the class covers
    # columns 0-19; the image's colour edge is at column 24, and the dense
    # CRF after the walk moves the class border there
    model = _model(test_cfg=dict(radius=3, exp_times=5, crf=dict())).eval()
    _constant_boundary(model, 8.0)
    img = torch.zeros(3, 32, 40)
    img[0, :, :24] = 200.0  # red left of column 24, blue right
    img[2, :, 24:] = 200.0
    pre = model.data_preprocessor
    inputs = ((img - pre.mean[0]) / pre.std[0])[None]
    with torch.no_grad():
        result = model.predict(inputs, [_sample(cams=_half_cam())])[0]
    probs = result.seg_logits.data
    assert torch.allclose(probs.sum(0), torch.ones(32, 40), atol=1e-4)
    pred = result.pred_sem_seg.data[0]
    assert (pred[:, :24] == 2).all() and (pred[:, 24:] == 0).all()
    # without the CRF the border stays near the CAM's (column 20, blurred
    # by the 4x upsampling)
    model.test_cfg.crf = None
    with torch.no_grad():
        result = model.predict(inputs, [_sample(cams=_half_cam())])[0]
    pred = result.pred_sem_seg.data[0]
    assert (pred[:, :18] == 2).all() and (pred[:, 22:] == 0).all()


def test_padding_feeds_the_network_padded_images_and_crops_back():
    # IRN pads [image, mirrored image] at the bottom and right to 512 x 512
    # before the network and crops the logits to the image's stride-4 grid
    torch.manual_seed(0)
    model = _model(test_cfg=dict(radius=3, pad_size=(48, 48))).eval()
    x = torch.randn(1, 3, 30, 37)
    with torch.no_grad():
        boundary = model.predict_boundary(x)
        pad = (0, 11, 0, 18)
        plain = model.encode_decode(F.pad(x, pad), None)[..., :8, :10]
        mirrored = model.encode_decode(F.pad(x.flip(-1), pad),
                                       None)[..., :8, :10].flip(-1)
        model.test_cfg.pad_size = None
        unpadded = model.predict_boundary(x)
        # a side longer than pad_size stays as it is
        model.test_cfg.pad_size = (16, 48)
        taller = model.predict_boundary(x)
        model.test_cfg.pad_size = (30, 48)
        wider = model.predict_boundary(x)
    assert boundary.shape == unpadded.shape == (1, 1, 8, 10)
    torch.testing.assert_close(boundary, ((plain + mirrored) / 2).sigmoid())
    # GroupNorm's statistics saw the padding
    assert not torch.allclose(boundary, unpadded, atol=1e-3)
    torch.testing.assert_close(taller, wider)


def test_the_walk_stays_on_each_images_grid_in_a_padded_batch():
    model = _model().eval()
    _constant_boundary(model, -8.0)  # no boundary: the walk spreads
    short = _sample(size=(20, 40))  # its rows 20-31 are batch padding
    # (no padding_size: postprocess_result leaves the padded rows to see)
    short.set_metainfo(dict(ori_shape=(32, 40)))
    with torch.no_grad():
        scores = model.predict(torch.rand(1, 3, 32, 40),
                               [short])[0].seg_logits.data
    # nothing walked into the padded rows
    assert scores[2, :20].min() > 0.25
    assert scores[2, 20:].abs().sum() == 0
