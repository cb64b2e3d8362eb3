# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.losses import mam_targets, multiscale_attentive_loss

# Three images of 8 x 8 pixels, C = 4 classes; the batch holds classes 1
# and 3 (present), so SupportNet's CAMs have two channels.
LABELS = torch.tensor([[0., 1., 0., 0.], [0., 1., 0., 1.], [0., 0., 0., 1.]])
PRESENT = torch.tensor([1, 3])


def _head(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(type='MAMHead', num_classes=4, main_scales=(0.5, 1.0, 2.0))
    cfg.update(kwargs)
    return MODELS.build(cfg)


class _Net:
    """A stand-in MainNet: raw CAMs (m, 4, h/2, w/2) from the image means,
    and the input sizes it was called with."""

    def __init__(self):
        self.sizes = []

    def __call__(self, images):
        self.sizes.append(tuple(images.shape))
        pooled = F.avg_pool2d(images, 2)
        return torch.cat([pooled, -pooled[:, :1]], dim=1)


def _inputs():
    gen = torch.Generator().manual_seed(0)
    inputs = torch.rand(3, 3, 8, 8, generator=gen)
    # SupportNet's CAMs come masked by the labels
    support = [
        torch.rand(3, 2, 8, 8, generator=gen) * LABELS[:, PRESENT, None, None]
        for _ in range(4)
    ]
    valid = torch.ones(3, 8, 8, dtype=torch.bool)
    valid[1, 6:] = False  # padding below image 1
    return inputs, support, valid


def test_targets_run_main_net_on_the_first_images_at_each_scale():
    head = _head(batch_fraction=0.5)
    net = _Net()
    inputs, support, valid = _inputs()
    cams = net(inputs).requires_grad_()
    net.sizes.clear()
    t = head.targets(net, inputs, cams, support, LABELS, PRESENT, valid)
    # ceil(0.5 * 3) = 2 images; scale 1.0 reuses the given CAMs
    assert net.sizes == [(2, 3, 4, 4), (2, 3, 16, 16)]
    assert len(t.main_cams) == len(t.targets) == 3
    assert len(t.support_cams) == 4
    mask = LABELS[:2, PRESENT, None, None] * valid[:2, None]
    expected = F.relu(
        F.interpolate(
            cams[:2, PRESENT],
            size=(8, 8),
            mode='bilinear',
            align_corners=False)) * mask
    torch.testing.assert_close(t.main_cams[1], expected)
    assert t.main_cams[1].requires_grad
    for u, given in zip(t.support_cams, support):
        torch.testing.assert_close(u, given[:2] * valid[:2, None])
    for target, expected in zip(t.targets,
                                mam_targets(t.main_cams, t.support_cams)):
        assert not target.requires_grad
        torch.testing.assert_close(target, expected)
    # the padding rows of image 1 and its unlabelled channel are zero
    assert (t.main_cams[0][1, :, 6:] == 0).all()
    assert (t.main_cams[2][0, 1] == 0).all()
    assert (t.support_cams[0][1, :, 6:] == 0).all()


def test_loss_on_the_present_channels_is_the_mean_over_all_channels():
    head = _head(
        batch_fraction=1.0,
        loss_mam=dict(
            type='MultiScaleAttentiveLoss',
            loss_weight=0.5,
            target_norm='weight_sum'))
    inputs, support, valid = _inputs()
    net = _Net()
    t = head.targets(net, inputs, net(inputs), support, LABELS, PRESENT, valid)
    losses = head.loss(t)
    assert set(losses) == {'loss_mam'}

    def all_channels(maps):
        full = torch.zeros(maps.shape[0], 4, *maps.shape[2:])
        full[:, PRESENT] = maps
        return full

    expected = 0.5 * multiscale_attentive_loss(
        [all_channels(m)
         for m in t.main_cams], [all_channels(u) for u in t.support_cams],
        target_norm='weight_sum')
    torch.testing.assert_close(losses['loss_mam'], expected)
    assert expected > 0


@pytest.mark.parametrize('cfg, match', [
    (dict(main_scales=(0.5, 2.0)), 'including 1.0'),
    (dict(main_scales=()), 'mam_head.main_scales must be a non-empty'),
    (dict(batch_fraction=0.0), r'batch_fraction must lie in \(0, 1\]'),
    (dict(batch_fraction=1.5), r'batch_fraction must lie in \(0, 1\]'),
])
def test_bad_arguments_fail_at_build(cfg, match):
    with pytest.raises(ValueError, match=match):
        _head(**cfg)
