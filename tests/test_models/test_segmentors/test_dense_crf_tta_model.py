# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""SoftmaxSegTTAModel: mmseg's mean-softmax merge of the views, kept as
probabilities; DenseCRFSegTTAModel: that merge, then a dense CRF on the
image file, then argmax."""
import warnings

import mmcv
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_wsss.models.segmentors import DEEPLAB_CRF


def _segmentor(num_classes=3):
    """A real (tiny) EncoderDecoder with a DeepLabV2Head."""
    init_default_scope('mmseg')
    return MODELS.build(
        dict(
            type='EncoderDecoder',
            backbone=dict(
                type='ResNet', depth=18, base_channels=4, stem_channels=4),
            decode_head=dict(
                type='DeepLabV2Head',
                in_channels=32,
                num_classes=num_classes,
                loss_decode=dict(type='CrossEntropyLoss'))))


def _model(**crf):
    return MODELS.build(
        dict(type='DenseCRFSegTTAModel', module=_segmentor(), crf=crf))


def _view(logits, img_path):
    sample = SegDataSample(metainfo=dict(img_path=img_path))
    sample.seg_logits = PixelData(data=torch.tensor(logits))
    return sample


@pytest.fixture
def flat_image(tmp_path):
    """A uniform grey 3 x 4 PNG."""
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(np.full((3, 4, 3), 128, np.uint8), path)
    return path


def test_views_merge_as_the_mean_of_their_softmax(flat_image):
    # no mean-field iteration: the CRF returns its unary's probabilities
    model = _model(iters=0)
    a = np.zeros((2, 3, 4), np.float32)
    a[1] = np.log(3.)  # softmax (1/4, 3/4)
    b = np.zeros((2, 3, 4), np.float32)
    b[0, 0, 0] = np.log(9.)  # softmax (9/10, 1/10) at (0, 0), else even
    merged, = model.merge_preds([[_view(a, flat_image), _view(b, flat_image)]])
    expected = np.empty((2, 3, 4), np.float32)
    expected[0], expected[1] = (1 / 4 + 1 / 2) / 2, (3 / 4 + 1 / 2) / 2
    expected[:, 0, 0] = (1 / 4 + 9 / 10) / 2, (3 / 4 + 1 / 10) / 2
    np.testing.assert_allclose(
        merged.seg_logits.data.numpy(), expected, atol=1e-6)
    pred = np.ones((1, 3, 4), np.int64)
    pred[0, 0, 0] = 0
    np.testing.assert_array_equal(merged.pred_sem_seg.data.numpy(), pred)
    assert merged.img_path == flat_image


def test_crf_relabels_a_lone_pixel_of_a_uniform_image(flat_image):
    model = _model()
    assert model.crf == DEEPLAB_CRF
    logits = np.zeros((2, 3, 4), np.float32)
    logits[0] = 2.  # class 0 everywhere ...
    logits[:, 1, 2] = 0., 0.5  # ... but one pixel, weakly class 1
    plain = _model(iters=0).merge_preds([[_view(logits, flat_image)]])[0]
    assert plain.pred_sem_seg.data[0, 1, 2] == 1
    merged, = model.merge_preds([[_view(logits, flat_image)]])
    assert (merged.pred_sem_seg.data == 0).all()
    probs = merged.seg_logits.data
    torch.testing.assert_close(probs.sum(0), torch.ones(3, 4))


def test_crf_needs_predictions_at_the_image_size(flat_image):
    model = _model()
    with pytest.raises(ValueError, match='img.png'):
        model.merge_preds(
            [[_view(np.zeros((2, 5, 5), np.float32), flat_image)]])


def test_crf_needs_class_scores():
    init_default_scope('mmseg')
    segmentor = _segmentor()
    segmentor.out_channels = 1  # a binary (sigmoid) segmentor
    with pytest.raises(ValueError, match='out_channels'):
        MODELS.build(dict(type='DenseCRFSegTTAModel', module=segmentor))


def test_softmax_tta_model_labels_as_mmseg_keeps_the_probabilities(flat_image):
    rng = np.random.default_rng(0)
    views = [rng.normal(size=(3, 3, 4)).astype(np.float32) for _ in range(3)]
    ours = MODELS.build(dict(type='SoftmaxSegTTAModel', module=_segmentor()))
    mmseg_tta = MODELS.build(dict(type='SegTTAModel', module=_segmentor()))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # mmengine's 2-d PixelData warning
        merged, = ours.merge_preds([[_view(v, flat_image) for v in views]])
    with pytest.warns(UserWarning, match='shape of value'):
        theirs, = mmseg_tta.merge_preds([[_view(v, flat_image)
                                          for v in views]])
    np.testing.assert_array_equal(merged.pred_sem_seg.data.numpy(),
                                  theirs.pred_sem_seg.data.numpy())
    mean = np.mean([torch.tensor(v).softmax(0).numpy() for v in views], 0)
    np.testing.assert_allclose(merged.seg_logits.data.numpy(), mean, atol=1e-6)
