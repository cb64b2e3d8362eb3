# Copyright (c) mmseg-wsss contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.heads import PROTO_BATCH, PROTO_MEMORY, PROTO_NONE
from mmseg_wsss.models.losses import regional_contrastive_loss

# Three images of 4 x 4 pixels, C = 3 classes; the batch holds classes 0 and
# 2 (present), so the CAMs have two channels: class 0 and class 2.
LABELS = torch.tensor([[1., 0., 0.], [1., 0., 1.], [1., 0., 0.]])
PRESENT = torch.tensor([0, 2])
X = 255  # ignore


def _head(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(type='RCMHead', num_classes=3, channels=2, memory_size=2)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _cams():
    """(3, 2, 4, 4) CAMs and the region mask they give, in class ids."""
    cams = torch.zeros(3, 2, 4, 4)
    # image 0: class 0 on the two left columns, 0.4 of its peak (between
    # the thresholds 0.3 and 0.5) at one pixel
    cams[0, 0, :, :2] = 1.0
    cams[0, 0, 3, 3] = 0.4
    # image 1: class 0 top left, class 2 bottom right
    cams[1, 0, 0, :2] = 2.0
    cams[1, 1, 2:, 2:] = 3.0
    # image 2: labelled with class 0 but its CAM is zero: background only
    target = torch.tensor([
        [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, X]],
        [[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 3, 3], [0, 0, 3, 3]],
        [[0, 0, 0, X], [0, 0, 0, X], [0, 0, 0, X], [0, 0, 0, X]],
    ])
    return cams, target


def _feats():
    """Features (3, 2, 4, 4): e0 on the foreground of ``_cams``, e1 else."""
    cams, _ = _cams()
    fg = (cams.amax(dim=1) > 0.5).float()
    return torch.stack([fg, 1 - fg], dim=1)


def _targets(head):
    cams, _ = _cams()
    valid = torch.ones(3, 4, 4, dtype=torch.bool)
    valid[2, :, 3] = False  # padding on the right of image 2
    return head.targets([cams], cams, _feats(), LABELS, PRESENT, valid)


def test_region_target_carries_the_class_ids_of_the_present_subset():
    _, target = _cams()
    assert torch.equal(_targets(_head()).target, target)


def test_prototypes_by_hand_and_their_source():
    head = _head()
    targets = _targets(head)
    e0, e1 = torch.tensor([1., 0.]), torch.tensor([0., 1.])
    # own prototypes: background e1 everywhere, classes on e0; image 2
    # has no class-0 pixel although it is labelled with class 0
    valid = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0]]).bool()
    assert torch.equal(targets.image_valid, valid)
    torch.testing.assert_close(targets.image_protos[:, 0], e1.expand(3, 2))
    torch.testing.assert_close(targets.image_protos[1, 3], e0)
    # leave-one-out without memory: class 1 is nowhere; class 2 (index 3)
    # is in image 1 only, which then has no prototype for it
    source = torch.tensor([[1, 1, 0, 1], [1, 1, 0, 0], [1, 1, 0, 1]])
    assert torch.equal(targets.proto_source, source)
    assert (targets.protos[targets.proto_source == PROTO_NONE] == 0).all()
    torch.testing.assert_close(targets.protos[0, 3], e0)
    torch.testing.assert_close(targets.protos[2, 1], e0)


def test_targets_read_the_memory_and_update_memory_fills_it():
    head = _head()
    first = _targets(head)
    assert not head.memory.filled.any()  # targets() leaves it alone
    head.update_memory(first)
    assert torch.equal(head.memory.filled[:, 0], first.image_valid.any(0))
    second = _targets(head)
    # image 1's class 2 now comes from the memory alone; class 1 has none
    assert second.proto_source[1, 3] == PROTO_MEMORY
    torch.testing.assert_close(second.protos[1, 3], first.image_protos[1, 3])
    assert (second.proto_source[:, 2] == PROTO_NONE).all()
    assert (second.proto_source[:, :2] == PROTO_BATCH).all()


def test_without_memory_nothing_is_stored():
    head = _head(memory_size=0)
    assert head.memory is None
    targets = _targets(head)
    head.update_memory(targets)
    assert targets.proto_source[1, 3] == PROTO_NONE


@pytest.mark.parametrize('rcm_resolution', ['feature', 'crop'])
def test_loss_is_the_math_api_at_the_chosen_resolution(rcm_resolution):
    head = _head(
        rcm_resolution=rcm_resolution,
        loss_rcm=dict(
            type='RegionalContrastiveLoss', tau=0.3, loss_weight=2.0))
    targets = _targets(head)
    feats = torch.rand(3, 2, 2, 2, generator=torch.Generator().manual_seed(0))
    if rcm_resolution == 'crop':
        expected_feats = F.interpolate(
            feats, size=(4, 4), mode='bilinear', align_corners=False)
    else:
        expected_feats = feats
    expected = 2.0 * regional_contrastive_loss(
        expected_feats, targets.protos, targets.target, tau=0.3)
    losses = head.loss(feats, targets)
    assert set(losses) == {'loss_rcm'}
    torch.testing.assert_close(losses['loss_rcm'], expected)


@pytest.mark.parametrize('cfg, match', [
    (dict(region_thrs=(0.6, 0.5)), 'rcm_head.region_thrs'),
    (dict(region_thrs=(0.3, )), 'rcm_head.region_thrs'),
    (dict(proto_resolution='pixel'), 'rcm_head.proto_resolution'),
    (dict(rcm_resolution='pixel'), 'rcm_head.rcm_resolution'),
    (dict(ignore_index=254), 'ignore_index=255 differs'),
])
def test_bad_arguments_fail_at_build(cfg, match):
    with pytest.raises(ValueError, match=match):
        _head(**cfg)
