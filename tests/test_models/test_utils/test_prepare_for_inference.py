# Copyright (c) mmseg-wsss contributors. All rights reserved.
import copy

import pytest
import torch
from mmcv.cnn import ConvModule
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from tiny_cam_net import BACKBONE, HEAD, NUM_CLASSES
from torch import nn

from mmseg_wsss.models.utils.prepare_for_inference import prepare_for_inference


def _randomize_bn_statistics(model, seed=0):
    """Running statistics and affine terms far from the identity, so that
    folding them wrongly shows."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen))
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen))


def _cam_segmentor():
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(
            type='CAMSegmentor',
            backbone=BACKBONE,
            cam_head=HEAD,
            data_preprocessor=dict(type='SegDataPreProcessor'),
            test_cfg=dict(scales=(1.0, 0.5), flip=True)))
    model.init_weights()
    _randomize_bn_statistics(model)
    return model.eval()


def test_folds_every_bn_and_keeps_the_predictions():
    model = _cam_segmentor()
    original = copy.deepcopy(model)
    assert any(isinstance(m, nn.BatchNorm2d) for m in original.modules())
    fast = prepare_for_inference(model)
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in fast.modules())
    conv = fast.backbone.stem[0]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    inputs = torch.randn(
        2, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    samples = []
    for i in range(2):
        sample = SegDataSample(
            metainfo=dict(ori_shape=(40, 56), img_shape=(40, 56)))
        sample.set_data(dict(img_labels=torch.tensor([1.0, 0.0, 1.0])))
        samples.append(sample)
    with torch.no_grad():
        ref = original.predict(inputs, copy.deepcopy(samples))
        out = fast.predict(inputs, copy.deepcopy(samples))
    for a, b in zip(ref, out):
        torch.testing.assert_close(
            b.seg_logits.data, a.seg_logits.data, rtol=0, atol=1e-5)
        assert b.seg_logits.data.shape == (NUM_CLASSES + 1, 40, 56)


class PreNormCAMNet(nn.Module):
    """A conv whose BN normalises its *input*: registered conv first, so
    mmcv's ``fuse_conv_bn`` would fold the BN into the conv's output."""

    def __init__(self):
        super().__init__()
        self.block = ConvModule(
            3, 3, 1, norm_cfg=dict(type='BN'), order=('norm', 'conv', 'act'))

    def forward_cams(self, x):
        cams = self.block(x)
        return cams, cams


def test_a_bn_that_does_not_follow_its_conv_is_not_folded():
    model = PreNormCAMNet()
    _randomize_bn_statistics(model)
    model.eval()
    probe = torch.randn(1, 3, 8, 8)
    expected = model.forward_cams(probe)[0]
    with pytest.warns(UserWarning, match='keeping the unfused model'):
        fast = prepare_for_inference(model, channels_last=False)
    assert isinstance(fast.block.bn, nn.BatchNorm2d)
    torch.testing.assert_close(fast.forward_cams(probe)[0], expected)


def test_training_mode_is_refused():
    with pytest.raises(ValueError, match='eval mode'):
        prepare_for_inference(_cam_segmentor().train())
