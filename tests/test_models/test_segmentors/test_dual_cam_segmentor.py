# Copyright (c) mmseg-wsss contributors. All rights reserved.
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS
from tiny_cam_net import BACKBONE, HEAD, NUM_CLASSES, labelled_batch

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.losses import (class_prototypes,
                                      leave_one_out_prototypes,
                                      multiscale_attentive_loss,
                                      regional_contrastive_loss)
from mmseg_wsss.models.utils import normalize_cams, region_mask

PREPROCESSOR = dict(type='SegDataPreProcessor', size=(32, 32))


def _dual(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='DualCAMSegmentor',
        backbone=BACKBONE,
        cam_head=HEAD,
        data_preprocessor=PREPROCESSOR,
        rcm_head=dict(type='RCMHead', memory_size=2),
        test_cfg=dict(scales=(1.0, ), flip=False))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    model.update_support()
    return model


def _batch(n=3, size=32, seed=0):
    """Images whose labels are two consecutive classes each."""
    labels = []
    for i in range(n):
        row = [0.0] * NUM_CLASSES
        row[i % NUM_CLASSES] = row[(i + 1) % NUM_CLASSES] = 1.0
        labels.append(row)
    return labelled_batch(labels, size, seed)


def test_dual_losses_are_finite_and_prefixed():
    model = _dual().train()
    losses = model.loss(*_batch())
    assert set(losses) == {'cam.loss_cls', 'cam.loss_rcm', 'cam.loss_mam'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['cam.loss_rcm'] > 0 and losses['cam.loss_mam'] > 0


def test_self_supervision_reaches_main_net_and_never_support_net():
    model = _dual().train()
    losses = model.loss(*_batch())
    (losses['cam.loss_rcm'] + losses['cam.loss_mam']).backward()
    main_grads = [p.grad for p in model.backbone.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in main_grads)
    assert all(p.grad is None for p in model.support.parameters())
    assert not any(p.requires_grad for p in model.support.parameters())


@pytest.mark.parametrize('loss', ['loss_rcm', 'loss_mam'])
def test_each_self_supervised_loss_alone_has_gradients(loss):
    model = _dual().train()
    model.cam_head.zero_grad()
    losses = model.loss(*_batch())
    losses[f'cam.{loss}'].backward()
    grad = model.cam_head.feat_conv.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_support_net_stays_in_eval_mode():
    model = _dual()
    model.train()
    assert model.backbone.training
    assert not any(m.training for m in model.support.modules())


def test_ema_step_is_exact():
    model = _dual().train()
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    old = {k: v.clone() for k, v in model.support.module.named_parameters()}
    losses = model.loss(*_batch())
    sum(losses.values()).backward()
    optim.step()
    model.update_support()
    main = dict(model._main_modules().named_parameters())
    for name, param in model.support.module.named_parameters():
        # theta_s <- 0.996 * theta_s + 0.004 * theta_m
        expected = 0.996 * old[name] + 0.004 * main[name]
        assert torch.allclose(param, expected, rtol=0, atol=1e-6), name
    assert not torch.equal(param, old[name])


def test_without_self_supervision_dual_matches_baseline():
    torch.manual_seed(0)
    baseline = MODELS.build(
        dict(
            type='CAMSegmentor',
            backbone=BACKBONE,
            cam_head=HEAD,
            data_preprocessor=PREPROCESSOR))
    baseline.init_weights()
    dual = _dual(
        rcm_head=dict(
            type='RCMHead',
            loss_rcm=dict(type='RegionalContrastiveLoss', loss_weight=0.0)),
        mam_head=dict(
            type='MAMHead',
            loss_mam=dict(type='MultiScaleAttentiveLoss', loss_weight=0.0)))
    dual.load_state_dict(baseline.state_dict(), strict=False)
    baseline.train()
    dual.train()
    batch = _batch()
    base_losses = baseline.loss(*batch)
    dual_losses = dual.loss(*copy.deepcopy(batch))
    assert set(dual_losses) == {'cam.loss_cls'}
    assert torch.equal(dual_losses['cam.loss_cls'],
                       base_losses['cam.loss_cls'])


def test_leave_one_out_with_one_image_is_a_clear_error():
    model = _dual(rcm_head=dict(type='RCMHead', memory_size=0)).train()
    with pytest.raises(ValueError, match='batch >= 2'):
        model.loss(*_batch(n=1))


def test_unsynchronised_support_net_is_a_clear_error():
    init_default_scope('mmseg')
    model = MODELS.build(
        dict(type='DualCAMSegmentor', backbone=BACKBONE, cam_head=HEAD))
    with pytest.raises(RuntimeError, match='SupportNetEMAHook'):
        model.train().loss(*_batch())


@pytest.mark.parametrize('train_cfg, match', [
    (dict(support_scales=(0.5, 2.0)), 'including 1.0'),
    (dict(support_scales=(1.0, -1.0)), 'positive scales'),
    (dict(region_thrs=(0.3, 0.5)), r"unknown keys \['region_thrs'\]"),
])
def test_bad_train_cfg_fails_at_build_time(train_cfg, match):
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match=match):
        MODELS.build(
            dict(
                type='DualCAMSegmentor',
                backbone=BACKBONE,
                cam_head=HEAD,
                train_cfg=train_cfg))


def test_predict_on_support_uses_support_net():
    model = _dual(
        test_cfg=dict(scales=(
            1.0, ), flip=False, predict_on='support')).eval()
    inputs, samples = _batch()
    with torch.no_grad():
        for p in model.cam_head.parameters():
            p.add_(1.0)  # MainNet drifts; SupportNet does not
        support_cams = model.support_cams(inputs)[0]
        assert torch.equal(model.inference_cams(inputs), support_cams)
        assert not torch.equal(model.forward_cams(inputs)[0], support_cams)
        out = model.predict(inputs, samples)
    assert out[0].seg_logits.data.shape == (NUM_CLASSES + 1, 32, 32)


def _reference_self_sup(model, inputs, labels):
    """RCM and MAM straight from the math API on all C channels, the whole
    batch at once (``F.normalize``, no class subset): what
    :class:`DualCAMSegmentor` computes on the channels of the batch's
    classes, crop-resolution prototypes one image at a time."""
    rcm_head, mam_head = model.rcm_head, model.mam_head
    support_scales = model.train_cfg.support_scales
    h, w = inputs.shape[-2:]

    def resize(x, size):
        return F.interpolate(
            x, size=size, mode='bilinear', align_corners=False)

    def rescale(x, scale):
        return x if scale == 1.0 else resize(x, (round(h * scale),
                                                 round(w * scale)))

    cams, feats = model.forward_cams(inputs)
    with torch.no_grad():
        support, support_feats = [], None
        for scale in support_scales:
            u, f = model.support_cams(rescale(inputs, scale))
            support_feats = f if scale == 1.0 else support_feats
            support.append(F.relu(resize(u, (h, w))) * labels[..., None, None])
        target = region_mask(
            normalize_cams(sum(support), labels), *rcm_head.region_thrs)
        proto_mask = region_mask(
            normalize_cams(support[support_scales.index(1.0)], labels),
            *rcm_head.region_thrs)
        if rcm_head.proto_resolution == 'crop':
            support_feats = resize(support_feats, (h, w))
        protos, valid = class_prototypes(
            F.normalize(support_feats, dim=1), proto_mask, NUM_CLASSES)
        loo = leave_one_out_prototypes(protos, valid, rcm_head.memory)
    rcm = regional_contrastive_loss(
        feats, loo, target, tau=rcm_head.loss_rcm.tau)
    m = math.ceil(mam_head.batch_fraction * len(inputs))
    main = [
        F.relu(
            resize(
                cams[:m] if scale == 1.0 else model.forward_cams(
                    rescale(inputs[:m], scale))[0],
                (h, w))) * labels[:m, :, None, None]
        for scale in mam_head.main_scales
    ]
    mam = multiscale_attentive_loss(main, [u[:m] for u in support])
    return dict(
        rcm=rcm, mam=mam, protos=protos, valid=valid, target=target, loo=loo)


def _labelled_batch(img_labels):
    inputs, samples = _batch(n=len(img_labels))
    for sample, row in zip(samples, img_labels):
        sample.img_labels = torch.tensor(row, dtype=torch.float32)
    return inputs, samples, torch.tensor(img_labels, dtype=torch.float32)


@pytest.mark.parametrize('proto_resolution', ['crop', 'feature'])
def test_losses_on_the_batch_classes_equal_the_math_on_all(proto_resolution):
    # three images, class 1 in none of them: the segmentor works on the
    # channels of classes 0 and 2 only
    model = _dual(
        rcm_head=dict(
            type='RCMHead', memory_size=2,
            proto_resolution=proto_resolution)).train()
    inputs, samples, labels = _labelled_batch([[1, 0, 0], [1, 0, 1], [0, 0,
                                                                      1]])
    memory = copy.deepcopy(model.rcm_head.memory)
    ref = _reference_self_sup(model, inputs, labels)
    losses = model.loss(inputs, samples)
    torch.testing.assert_close(losses['cam.loss_rcm'], ref['rcm'])
    # the memory received the same prototypes
    memory.update(ref['protos'], ref['valid'])
    torch.testing.assert_close(model.rcm_head.memory.bank, memory.bank)
    assert torch.equal(model.rcm_head.memory.filled, memory.filled)
    # index 2 is class 1: in no image, no prototype
    assert not ref['valid'][:, 2].any() and ref['valid'][:, [1, 3]].any()
    torch.testing.assert_close(losses['cam.loss_mam'], ref['mam'])
    assert ref['rcm'] > 0 and ref['mam'] > 0


def test_self_sup_state_shows_what_the_heads_see_and_changes_nothing():
    model = _dual().train()
    inputs, samples, labels = _labelled_batch([[1, 0, 0], [1, 0, 1], [0, 0,
                                                                      1]])
    model.loss(inputs, samples)  # a memory to read
    memory = copy.deepcopy(model.rcm_head.memory.state_dict())
    bn_mean = model.backbone.stem[1].running_mean.clone()
    state = model.self_sup_state(inputs, samples)
    # no training state moved, and the mode is back
    assert model.training and not model.support.training
    assert torch.equal(model.backbone.stem[1].running_mean, bn_mean)
    for key, value in model.rcm_head.memory.state_dict().items():
        assert torch.equal(value, memory[key]), key

    assert state['cams'].shape == (3, NUM_CLASSES, 4, 4)
    norms = state['feats'].norm(dim=1)
    assert torch.allclose(norms[norms > 0], torch.ones(()))
    view = state['support']
    assert torch.equal(view.present, torch.tensor([0, 2]))
    assert torch.equal(view.labels, labels)
    assert len(view.cams) == len(model.train_cfg.support_scales)
    assert all(u.shape == (3, 2, 32, 32) for u in view.cams)
    # RCM: the region mask and prototypes of the math API on all channels
    model.eval()
    ref = _reference_self_sup(model, inputs, labels)
    rcm = state['rcm']
    assert torch.equal(rcm.target, ref['target'])
    torch.testing.assert_close(rcm.image_protos, ref['protos'])
    torch.testing.assert_close(rcm.protos, ref['loo'])
    assert torch.equal(rcm.image_valid, ref['valid'])
    # MAM: MainNet (eval mode) at 3 scales on the first ceil(3 / 2) images
    mam = state['mam']
    assert len(mam.main_cams) == len(mam.targets) == 3
    assert all(t.shape == (2, 2, 32, 32) for t in mam.targets)
    assert not any(t.requires_grad for t in mam.targets + mam.main_cams)


@pytest.mark.parametrize('heads, keys', [
    (dict(rcm_head=None), {'cam.loss_cls', 'cam.loss_mam'}),
    (dict(mam_head=None), {'cam.loss_cls', 'cam.loss_rcm'}),
    (dict(rcm_head=None, mam_head=None), {'cam.loss_cls'}),
])
def test_a_head_set_to_none_is_not_built_nor_run(heads, keys):
    model = _dual(**heads).train()
    runs = []
    model.support.module['backbone'].register_forward_pre_hook(
        lambda *args: runs.append(1))
    losses = model.loss(*_batch())
    assert set(losses) == keys
    for name in ('rcm_head', 'mam_head'):
        assert (getattr(model, name) is None) == (name in heads)
    # SupportNet runs only for a head
    assert bool(runs) == (len(keys) > 1)
    if model.rcm_head is None:
        assert not any('memory' in key for key in model.state_dict())


def test_warm_up_logs_zero_self_supervised_losses():
    model = _dual(train_cfg=dict(self_sup_start_iter=3)).train()
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 2)
    try:
        losses = model.loss(*_batch())
        assert losses['cam.loss_rcm'] == 0 and losses['cam.loss_mam'] == 0
        assert not model.rcm_head.memory.filled.any()
        hub.update_info('iter', 3)
        losses = model.loss(*_batch())
        assert losses['cam.loss_rcm'] > 0 and losses['cam.loss_mam'] > 0
    finally:
        hub.update_info('iter', 0)


def _save(tmp_path, model, drop=()):
    state = model.state_dict()
    for key in drop:
        state.pop(key)
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=state), path)
    return path


def test_a_baseline_checkpoint_loads_quietly_into_main_net(
        tmp_path, capsys, mm_log):
    init_default_scope('mmseg')
    cam = MODELS.build(
        dict(type='CAMSegmentor', backbone=BACKBONE, cam_head=HEAD))
    cam.init_weights()
    dual = MODELS.build(
        dict(type='DualCAMSegmentor', backbone=BACKBONE, cam_head=HEAD))
    path = _save(tmp_path, cam)
    capsys.readouterr()
    mm_log.clear()
    load_checkpoint(dual, path, map_location='cpu')
    assert 'do not match' not in capsys.readouterr().out
    lines = [r.getMessage() for r in mm_log if 'SupportNet' in r.getMessage()]
    assert len(lines) == 1 and 'has no SupportNet / RCM keys' in lines[0]
    for key, value in cam.state_dict().items():
        assert torch.equal(dual.state_dict()[key], value), key
    # SupportNetEMAHook copies MainNet on its first update
    assert int(dual.support.steps) == 0


def test_a_method_checkpoint_missing_some_support_keys_is_reported(
        tmp_path, capsys, mm_log):
    model = _dual()
    path = _save(
        tmp_path, model, drop=['support.module.cam_head.'
                               'classifier.weight'])
    capsys.readouterr()
    mm_log.clear()
    load_checkpoint(_dual(), path, map_location='cpu')
    assert ('missing keys in source state_dict: '
            'support.module.cam_head.classifier.weight'
            in capsys.readouterr().out)
    assert not [r for r in mm_log if 'SupportNet' in r.getMessage()]
