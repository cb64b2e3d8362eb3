# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Numerical edge cases: empty CAMs, missing prototypes, bf16, extreme tau,
and non-finite losses stopping training before they do harm."""
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from mmseg_wsss.models.losses import regional_contrastive_loss

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_METHOD = osp.join(REPO_ROOT, 'configs', 'toy',
                      'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
LOSSES = {'cam.loss_cls', 'cam.loss_rcm', 'cam.loss_mam'}


def _check_finite_with_gradients(model, losses):
    """All losses finite and their sum back-propagates finite gradients."""
    assert set(losses) == LOSSES
    for name, value in losses.items():
        assert value.dtype == torch.float32, name
        assert torch.isfinite(value), name
    sum(losses.values()).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def _rcm_head(mask_absent, memory_size=2, tau=0.5):
    return dict(
        type='RCMHead',
        memory_size=memory_size,
        loss_rcm=dict(
            type='RegionalContrastiveLoss',
            tau=tau,
            mask_absent_prototypes=mask_absent))


def _set_classifier(model, weight):
    """The same classifier (C, D) in MainNet and SupportNet."""
    with torch.no_grad():
        for head in (model.cam_head, model.support.module['cam_head']):
            head.classifier.weight.copy_(weight[:, :, None, None])


@pytest.mark.parametrize('mask_absent', [False, True])
def test_all_zero_cams_and_labels_absent_from_the_crop(tiny_model, tiny_batch,
                                                       mask_absent):
    model = tiny_model(rcm_head=_rcm_head(mask_absent)).train()
    # pixel features are >= 0 (ReLU): a negative classifier row gives a
    # CAM that is 0 everywhere after the ReLU, as for a class the crop
    # does not show although the image is labelled with it
    weight = -torch.ones(3, 16)
    _set_classifier(model, weight)
    inputs, samples = tiny_batch([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    _check_finite_with_gradients(model, model.loss(inputs, samples))

    # class 0 visible, classes 1 and 2 labelled but absent: image 1 has no
    # foreground at all, the others do
    weight[0] = 1
    _set_classifier(model, weight)
    model.zero_grad()
    _check_finite_with_gradients(model, model.loss(inputs, samples))


@pytest.mark.parametrize('mask_absent', [False, True])
def test_class_without_prototype_in_the_batch(tiny_model, tiny_batch,
                                              mask_absent):
    # class 2 is in image 0 only: leave-one-out gives image 0 no
    # prototype for it, and there is no memory to fall back on
    model = tiny_model(rcm_head=_rcm_head(mask_absent, memory_size=0)).train()
    inputs, samples = tiny_batch([[0, 1, 1], [1, 1, 0], [1, 0, 0]])
    _check_finite_with_gradients(model, model.loss(inputs, samples))


def test_bf16_autocast_on_cpu(tiny_model, tiny_batch):
    model = tiny_model().train()
    inputs, samples = tiny_batch([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    reference = {k: v.item() for k, v in model.loss(inputs, samples).items()}
    model.rcm_head.memory.ptr.zero_()
    model.rcm_head.memory.filled.zero_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs, samples)
    # the loss math runs in float32 whatever the network's precision
    _check_finite_with_gradients(model, losses)
    for name, value in losses.items():
        # bf16 keeps ~3 significant digits through the network
        assert math.isclose(value.item(), reference[name], rel_tol=0.1), name


@pytest.mark.parametrize('tau', [1e-3, 1e3])
@pytest.mark.parametrize('mask_absent', [False, True])
def test_extreme_temperatures(tiny_model, tiny_batch, tau, mask_absent):
    model = tiny_model(rcm_head=_rcm_head(mask_absent, tau=tau)).train()
    inputs, samples = tiny_batch([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    _check_finite_with_gradients(model, model.loss(inputs, samples))


def test_extreme_temperatures_by_hand():
    # one pixel with feature e0; prototypes e0 (class 0) and e1 (class 1)
    feats = torch.tensor([1., 0.])[None, :, None, None]
    protos = torch.tensor([[[1., 0.], [0., 1.]]])
    right, wrong = torch.zeros(1, 1, 1).long(), torch.ones(1, 1, 1).long()
    # tau = 1e-3: logits (1000, 0); a naive softmax overflows, the loss
    # is -log(e^0 / (e^1000 + e^0)) = 1000 + log(1 + e^-1000) = 1000
    loss = regional_contrastive_loss(feats, protos, wrong, tau=1e-3)
    assert torch.isclose(loss, torch.tensor(1000.))
    loss = regional_contrastive_loss(feats, protos, right, tau=1e-3)
    assert loss == 0  # log(1 + e^-1000) underflows to exactly 0
    # tau = 1e3: logits (0.001, 0); log(1 + e^-0.001) = 0.6926474
    loss = regional_contrastive_loss(feats, protos, right, tau=1e3)
    assert torch.isclose(loss, torch.tensor(0.6926474))


@pytest.mark.parametrize('type, names', [
    ('CAMSegmentor', 'cam.loss_cls=nan'),
    ('DualCAMSegmentor',
     'cam.loss_cls=nan, cam.loss_rcm=nan, cam.loss_mam=nan'),
])
def test_non_finite_loss_stops_before_the_optimizer_step(
        tiny_model, tiny_batch, type, names):
    model = tiny_model(type).train()
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    inputs, samples = tiny_batch([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    # a clean step first, so that there is optimizer state to protect
    model.train_step(
        dict(inputs=list(inputs), data_samples=samples), optim_wrapper)
    params = {k: v.clone() for k, v in model.named_parameters()}
    optimizer_state = {
        k: v['momentum_buffer'].clone()
        for k, v in optim_wrapper.optimizer.state_dict()['state'].items()
    }
    support = ({
        k: v.clone()
        for k, v in model.support.state_dict().items()
    } if type == 'DualCAMSegmentor' else {})

    inputs[1, :, 3, 3] = float('nan')
    MessageHub.get_instance('test_non_finite_loss').update_info('iter', 6)
    with pytest.raises(
            FloatingPointError,
            match=rf'non-finite loss {names} at training iteration 7; no '
            'optimizer step'):
        model.train_step(
            dict(inputs=list(inputs), data_samples=samples), optim_wrapper)
    # the parameters, the optimizer and SupportNet are untouched (MainNet's
    # BatchNorm statistics saw the batch; the method's configs freeze them)
    for key, value in model.named_parameters():
        assert torch.equal(value, params[key]), key
    for key, value in optim_wrapper.optimizer.state_dict()['state'].items():
        assert torch.equal(value['momentum_buffer'], optimizer_state[key])
    for key, value in support.items():
        assert torch.equal(model.support.state_dict()[key], value), key


def test_non_finite_loss_outside_a_training_loop(tiny_model, tiny_batch):
    model = tiny_model('CAMSegmentor').train()
    inputs, samples = tiny_batch([[1, 0, 1], [0, 1, 0]])
    MessageHub.get_instance('test_outside_training')
    with torch.no_grad():
        model.cam_head.classifier.weight[0] = float('inf')
    with pytest.raises(FloatingPointError, match='outside a training loop'):
        model.loss(inputs, samples)


def test_diverging_training_stops_at_the_first_non_finite_loss(
        toy_voc, tmp_path, toy_cfg):
    # lr 1e8: the first step blows the weights up, a later forward
    # overflows
    runner = Runner.from_cfg(
        toy_cfg(
            TOY_METHOD,
            toy_voc,
            tmp_path,
            iters=6,
            model=dict(train_cfg=dict(self_sup_start_iter=0)),
            optim_wrapper=dict(optimizer=dict(lr=1e8))))
    with pytest.raises(
            FloatingPointError,
            match=r'non-finite loss cam\.loss_\w+=(nan|inf)') as error:
        runner.train()
    failed = int(re.search(r'iteration (\d+)', str(error.value)).group(1))
    assert failed >= 2 and runner.iter == failed - 1
    # SupportNet: the initial copy plus one EMA step per finished iteration
    assert int(runner.model.support.steps) == failed
    for net in (runner.model, runner.model.support):
        assert all(torch.isfinite(p).all() for p in net.parameters())
