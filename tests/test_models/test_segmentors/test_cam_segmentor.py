# Copyright (c) mmseg-wsss contributors. All rights reserved.
import logging

import pytest
import torch
from mmengine.runner import load_checkpoint
from tiny_cam_net import NUM_CLASSES
from tiny_cam_net import build_segmentor as _build
from tiny_cam_net import labelled_batch as _batch

import mmseg_wsss  # noqa: F401


def test_loss_is_the_classification_loss_prefixed_cam():
    model = _build().train()
    inputs, samples = _batch([[1, 0, 0], [0, 1, 1]])
    losses = model.loss(inputs, samples)
    assert set(losses) == {'cam.loss_cls'}
    cams, _ = model.forward_cams(inputs)
    expected = model.cam_head.loss_by_feat(cams, samples)['loss_cls']
    torch.testing.assert_close(losses['cam.loss_cls'], expected)


def test_predict_puts_the_threshold_in_channel_0_and_masks_by_labels():
    model = _build(
        test_cfg=dict(scales=(
            1.0, ), flip=False, bg_thr=0.3, labels='gt')).eval()
    inputs, samples = _batch([[1, 0, 0], [0, 1, 1]])
    with torch.no_grad():
        out = model.predict(inputs, samples)
    for sample, result in zip(samples, out):
        logits = result.seg_logits.data
        assert logits.shape == (NUM_CLASSES + 1, 32, 32)
        assert (logits[0] == 0.3).all()
        absent = (sample.img_labels == 0).nonzero().squeeze(1) + 1
        assert (logits[absent] == 0).all()
        assert logits[1:].max() <= 1
        assert torch.equal(result.pred_sem_seg.data[0], logits.argmax(0))


def _lines(records, text):
    return [r for r in records if text in r.getMessage()]


def test_a_method_checkpoint_loads_quietly_into_the_baseline(
        tmp_path, capsys, mm_log):
    dual = _build('DualCAMSegmentor')
    path = str(tmp_path / 'method.pth')
    torch.save(dict(state_dict=dual.state_dict()), path)
    cam = _build()
    capsys.readouterr()
    mm_log.clear()
    load_checkpoint(cam, path, map_location='cpu')
    # mmengine prints key mismatches; one INFO line says what was skipped
    assert 'do not match' not in capsys.readouterr().out
    assert not [r for r in mm_log if r.levelno >= logging.WARNING]
    lines = _lines(mm_log, 'SupportNet / RCM')
    assert len(lines) == 1
    assert lines[0].getMessage().startswith('CAMSegmentor: ignored the')
    for key, value in cam.state_dict().items():
        assert torch.equal(value, dual.state_dict()[key]), key


def test_other_unexpected_keys_are_still_reported(tmp_path, capsys, mm_log):
    state = _build().state_dict()
    state['extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'odd.pth')
    torch.save(dict(state_dict=state), path)
    capsys.readouterr()
    mm_log.clear()
    load_checkpoint(_build(), path, map_location='cpu')
    out = capsys.readouterr().out
    assert 'unexpected key in source state_dict: extra.weight' in out
    assert not _lines(mm_log, 'SupportNet / RCM')


@pytest.mark.parametrize('labels', ['gt', 'pred'])
def test_predict_labels_from_samples_or_the_classifier(labels):
    model = _build(
        test_cfg=dict(scales=(1.0, ), flip=False, labels=labels)).eval()
    inputs, samples = _batch([[1, 0, 0], [0, 1, 1]])
    with torch.no_grad():
        predicted = model._predict_labels(inputs, samples)
        scores = model.cam_head.cam_logits(model.forward_cams(inputs)[0])
    if labels == 'gt':
        assert torch.equal(predicted,
                           torch.stack([s.img_labels for s in samples]))
    else:
        assert torch.equal(predicted, (scores.sigmoid() > 0.5).float())


def test_predict_adds_the_strided_cams_irns_walk_takes():
    from mmseg_wsss.models.utils import normalize_cams, scale_cams, sum_resized
    torch.manual_seed(0)
    cfg = dict(scales=(1.0, 0.5), flip=True, labels='gt')
    model = _build(test_cfg=dict(cfg, strided_cams=True)).eval()
    inputs, samples = _batch([[1, 0, 1]], size=30)
    with torch.no_grad():
        result = model.predict(inputs, samples)[0]
        per_scale = scale_cams(model.inference_cams, inputs, (1.0, 0.5), True)
    # the scales summed on the 8 x 8 grid of a 30 x 30 image, normalised
    # per class there: each present class peaks at 1, absent ones are 0
    expected = normalize_cams(
        sum_resized(per_scale, (8, 8)), samples[0].img_labels[None])[0]
    torch.testing.assert_close(result.strided_cams.data, expected)
    peaks = result.strided_cams.data.flatten(1).amax(1)
    torch.testing.assert_close(
        peaks, torch.tensor([1., 0., 1.]), atol=1e-4, rtol=0)
    # off by default; a padded batch has no stride-4 grid of its image
    inputs, samples = _batch([[1, 0, 1]], size=30)
    with torch.no_grad():
        plain = _build(test_cfg=cfg).eval().predict(inputs, samples)[0]
    assert 'strided_cams' not in plain
    samples[0].set_metainfo(dict(img_shape=(28, 30)))
    with pytest.raises(ValueError, match='unpadded test batches'):
        model.predict(inputs, samples)
    with pytest.raises(ValueError, match='strided_cams must be a bool'):
        _build(test_cfg=dict(cfg, strided_cams='yes'))
