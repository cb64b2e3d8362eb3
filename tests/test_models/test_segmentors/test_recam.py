# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""ReCAM as a head of CAMSegmentor: loss, inference weights, staged load."""
import logging

import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import load_checkpoint
from tiny_cam_net import NUM_CLASSES
from tiny_cam_net import build_segmentor as _build
from tiny_cam_net import labelled_batch as _batch

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.utils import class_specific_features

RECAM = dict(type='ReCAMHead')


def test_the_head_takes_the_cam_heads_sizes():
    model = _build(recam_head=RECAM)
    assert model.recam_head.predictor.weight.shape == \
        model.cam_head.classifier.weight.shape == (NUM_CLASSES, 16, 1, 1)
    with pytest.raises(ValueError, match='cam_weight'):
        _build(recam_head=dict(RECAM, cam_weight='sum'))


def test_loss_adds_sce_on_the_live_cams_and_features():
    model = _build(recam_head=RECAM).train()
    inputs, samples = _batch([[1, 0, 0], [0, 1, 1]])
    losses = model.loss(inputs, samples)
    assert set(losses) == {'cam.loss_cls', 'cam.loss_sce', 'cam.acc_recam'}
    cams, feats = model.forward_cams(inputs)
    logits = F.linear(
        class_specific_features(cams, feats),
        model.recam_head.predictor.weight.flatten(1))
    ce = F.cross_entropy(
        logits.flatten(0, 1),
        torch.arange(NUM_CLASSES).repeat(2),
        reduction='none').view(2, NUM_CLASSES)
    expected = (ce[0, 0] + (ce[1, 1] + ce[1, 2]) / 2) / 2
    torch.testing.assert_close(losses['cam.loss_sce'], expected)
    # the predictor's accuracy on the 3 (image, class) pairs, logged only
    hits = logits.argmax(-1) == torch.arange(NUM_CLASSES)
    expected_acc = (hits[0, 0].float() + hits[1, 1] + hits[1, 2]) / 3
    torch.testing.assert_close(losses['cam.acc_recam'], expected_acc)
    assert not losses['cam.acc_recam'].requires_grad
    _, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(log_vars['loss'],
                               (losses['cam.loss_cls'] +
                                losses['cam.loss_sce']).detach())
    # nothing detached: the SCE alone trains all three parts
    model.zero_grad()
    losses['cam.loss_sce'].backward()
    for part in (model.recam_head.predictor, model.cam_head.classifier,
                 model.backbone.stem[0]):
        assert part.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('mode', ['product', 'cam', 'recam'])
def test_inference_maps_use_the_chosen_weights(mode):
    model = _build(recam_head=dict(RECAM, cam_weight=mode)).eval()
    inputs, samples = _batch([[1, 0, 1]])
    with torch.no_grad():
        _, feats = model.forward_cams(inputs)
        w_cam = model.cam_head.classifier.weight
        w_recam = model.recam_head.predictor.weight
        weight = dict(product=w_cam * w_recam, cam=w_cam, recam=w_recam)[mode]
        torch.testing.assert_close(
            model.inference_cams(inputs), F.conv2d(feats, weight))
        out = model.predict(inputs, samples)
    assert out[0].seg_logits.data.shape == (NUM_CLASSES + 1, 32, 32)


def test_predicted_labels_come_from_the_classifier_not_the_product():
    model = _build(
        recam_head=RECAM,
        test_cfg=dict(scales=(1.0, ), flip=False, labels='pred')).eval()
    inputs, samples = _batch([[1, 0, 1]])
    with torch.no_grad():
        scores = model.cam_head.cam_logits(model.forward_cams(inputs)[0])
        assert torch.equal(
            model._predict_labels(inputs, samples), (scores.sigmoid()
                                                     > 0.5).float())


def _messages(records):
    return [r.getMessage() for r in records]


def test_a_stage_1_checkpoint_loads_with_the_predictor_left_as_built(
        tmp_path, capsys, mm_log):
    base = _build()
    path = str(tmp_path / 'cam.pth')
    torch.save(dict(state_dict=base.state_dict()), path)
    recam = _build(recam_head=RECAM)
    predictor = recam.recam_head.predictor.weight.clone()
    capsys.readouterr()
    mm_log.clear()
    load_checkpoint(recam, path, map_location='cpu')
    assert 'missing keys' not in capsys.readouterr().out
    assert not [r for r in mm_log if r.levelno >= logging.WARNING]
    assert [m for m in _messages(mm_log) if 'ReCAM predictor' in m] == [
        'CAMSegmentor: the checkpoint has no ReCAM predictor keys: the CAM '
        'network was loaded, the ReCAM predictor is left as built'
    ]
    for key, value in base.state_dict().items():
        assert torch.equal(recam.state_dict()[key], value), key
    assert torch.equal(recam.recam_head.predictor.weight, predictor)


def test_the_methods_mainnet_loads_into_recam_and_recam_into_the_baseline(
        tmp_path, capsys, mm_log):
    dual = _build('DualCAMSegmentor')
    path = str(tmp_path / 'method.pth')
    torch.save(dict(state_dict=dual.state_dict()), path)
    recam = _build(recam_head=RECAM)
    capsys.readouterr()
    mm_log.clear()
    load_checkpoint(recam, path, map_location='cpu')
    assert 'do not match' not in capsys.readouterr().out
    assert len([m for m in _messages(mm_log) if 'ignored the' in m]) == 1
    for key in _build().state_dict():
        assert torch.equal(recam.state_dict()[key], dual.state_dict()[key])

    path = str(tmp_path / 'recam.pth')
    torch.save(dict(state_dict=recam.state_dict()), path)
    base = _build()
    mm_log.clear()
    load_checkpoint(base, path, map_location='cpu')
    assert 'do not match' not in capsys.readouterr().out
    assert [m for m in _messages(mm_log) if 'ignored the' in m] == [
        'CAMSegmentor: ignored the 1 ReCAM predictor keys (recam_head.*) of '
        "another segmentor's checkpoint; the CAM network was loaded"
    ]
