# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.heads import stack_img_labels


def _head(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(type='CAMHead', in_channels=4, channels=3, num_classes=2)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _sample(labels):
    sample = SegDataSample(metainfo=dict(img_path='a.jpg'))
    sample.set_data(dict(img_labels=torch.tensor(labels)))
    return sample


def test_cam_head_shapes_and_features():
    head = _head()
    x = torch.randn(2, 4, 5, 6)
    cams, feats = head([torch.zeros(1), x])
    assert cams.shape == (2, 2, 5, 6)
    assert feats.shape == (2, 3, 5, 6)
    assert (feats >= 0).all()  # pixel features come after a ReLU
    assert head.classifier.bias is None


def test_cam_head_cams_are_the_pixel_contributions_to_the_logits():
    head = _head()
    with torch.no_grad():
        head.feat_conv.conv.weight.zero_()
        head.feat_conv.conv.bias.copy_(torch.tensor([1., 2., 0.]))
        head.classifier.weight.copy_(
            torch.tensor([[1., 0., 5.], [-1., 1., 0.]]).view(2, 3, 1, 1))
    cams, _ = head([torch.randn(1, 4, 2, 2)])
    # features are (1, 2, 0) everywhere -> class 0: 1, class 1: -1 + 2 = 1
    assert torch.allclose(cams, torch.ones(1, 2, 2, 2))
    assert torch.allclose(head.cam_logits(cams), torch.ones(1, 2))


def test_cam_head_loss_matches_multilabel_soft_margin():
    head = _head()
    x = torch.randn(2, 4, 3, 3)
    samples = [_sample([1., 0.]), _sample([1., 1.])]
    losses = head.loss([x], samples)
    cams, _ = head([x])
    logits = cams.mean(dim=(2, 3))
    expected = F.binary_cross_entropy_with_logits(
        logits, torch.tensor([[1., 0.], [1., 1.]]))
    assert set(losses) == {'loss_cls'}
    assert torch.allclose(losses['loss_cls'], expected)


def test_stack_img_labels_errors_name_the_image():
    with pytest.raises(KeyError, match='a.jpg'):
        stack_img_labels([SegDataSample(metainfo=dict(img_path='a.jpg'))], 2)
    with pytest.raises(ValueError, match='num_classes=2'):
        stack_img_labels([_sample([1., 0., 0.])], 2)


def test_cam_head_rejects_zero_classes():
    with pytest.raises(ValueError, match='num_classes'):
        _head(num_classes=0)


def test_cam_head_without_feature_layer_classifies_the_input_feature():
    head = _head(channels=None)
    assert head.feat_conv is None and head.channels == 4
    assert head.classifier.weight.shape == (2, 4, 1, 1)
    x = torch.rand(2, 4, 3, 5)
    cams, feats = head([x])
    assert feats is x
    torch.testing.assert_close(cams, F.conv2d(x, head.classifier.weight))
