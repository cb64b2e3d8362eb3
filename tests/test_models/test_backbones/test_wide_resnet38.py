# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""WideResNet38: PSA's resnet38d, loaded by the converted file's key names."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.backbones import WideResNet38

ALL_TAPS = (0, 1, 2, 3, 4, 5)


def converted_file_shapes(width=1.0):
    """Key -> shape of the converted ImageNet file (RESNET38.md, section 3),
    written from the architecture table, not from the module."""
    c = {k: round(k * width) for k in (64, 128, 256, 512, 1024, 2048, 4096)}
    shapes = {'conv1a.weight': (c[64], 3, 3, 3)}

    def bn(name, ch):
        for param in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{name}.{param}'] = (ch, )

    # (block, in, mid, out, projection shortcut)
    blocks = [('b2', 64, 128, 128, True), ('b2_1', 128, 128, 128, False),
              ('b2_2', 128, 128, 128, False), ('b3', 128, 256, 256, True),
              ('b3_1', 256, 256, 256, False), ('b3_2', 256, 256, 256, False),
              ('b4', 256, 512, 512, True)]
    blocks += [(f'b4_{k}', 512, 512, 512, False) for k in range(1, 6)]
    blocks += [('b5', 512, 512, 1024, True), ('b5_1', 1024, 512, 1024, False),
               ('b5_2', 1024, 512, 1024, False)]
    for name, cin, mid, out, project in blocks:
        bn(f'{name}.bn_branch2a', c[cin])
        shapes[f'{name}.conv_branch2a.weight'] = (c[mid], c[cin], 3, 3)
        bn(f'{name}.bn_branch2b1', c[mid])
        shapes[f'{name}.conv_branch2b1.weight'] = (c[out], c[mid], 3, 3)
        if project:
            shapes[f'{name}.conv_branch1.weight'] = (c[out], c[cin], 1, 1)
    for name, cin, out in (('b6', 1024, 2048), ('b7', 2048, 4096)):
        q, h, o, i = c[out] // 4, c[out] // 2, c[out], c[cin]
        bn(f'{name}.bn_branch2a', i)
        shapes[f'{name}.conv_branch2a.weight'] = (q, i, 1, 1)
        bn(f'{name}.bn_branch2b1', q)
        shapes[f'{name}.conv_branch2b1.weight'] = (h, q, 3, 3)
        bn(f'{name}.bn_branch2b2', h)
        shapes[f'{name}.conv_branch2b2.weight'] = (o, h, 1, 1)
        shapes[f'{name}.conv_branch1.weight'] = (o, i, 1, 1)
    bn('bn7', c[4096])
    return shapes


def synthetic_file(width, generator):
    """A state dict as the converted file holds it (random values)."""
    return {
        k: torch.rand(shape, generator=generator) + 0.5
        for k, shape in converted_file_shapes(width).items()
    }


@pytest.fixture(scope='module')
def full_width():
    return WideResNet38(out_indices=ALL_TAPS).eval()


def test_full_width_matches_the_converted_file(full_width):
    own = {
        k: tuple(v.shape)
        for k, v in full_width.state_dict().items()
        if not k.endswith('num_batches_tracked')
    }
    assert own == converted_file_shapes()
    # RESNET38.md: 191 tensors, 105.12M elements, 105.07M learnable
    assert len(own) == 191
    assert sum(map(math.prod, own.values())) == 105_118_656
    learnable = sum(p.numel() for p in full_width.parameters())
    assert learnable == 105_070_912
    assert full_width.out_channels == (128, 256, 512, 1024, 2048, 4096)


def test_full_width_taps_at_96_px(full_width):
    with torch.no_grad():
        taps = full_width(torch.randn(1, 3, 96, 96))
    assert [tuple(t.shape)
            for t in taps] == [(1, 128, 48, 48), (1, 256, 24, 24),
                               (1, 512, 12, 12), (1, 1024, 12, 12),
                               (1, 2048, 12, 12), (1, 4096, 12, 12)]
    assert all((t >= 0).all() for t in taps)  # BN-ReLU'd


@pytest.mark.parametrize('size', [96, 448, 97])
def test_output_stride_at_reduced_width(size):
    net = WideResNet38(out_indices=ALL_TAPS, width_mult=1 / 16).eval()
    with torch.no_grad():
        taps = net(torch.randn(1, 3, size, size + 8))
    for tap, stride, ch in zip(taps, WideResNet38.TAP_STRIDES,
                               WideResNet38.TAP_CHANNELS):
        # stride-2 convs with padding round up: 448 -> 56, 97 -> 13
        assert tap.shape == (1, ch // 16, math.ceil(size / stride),
                             math.ceil((size + 8) / stride))
    assert net.out_channels == tuple(c // 16 for c in net.TAP_CHANNELS)


def test_out_indices_pick_the_taps():
    init_default_scope('mmseg')
    net = MODELS.build(
        dict(type='WideResNet38', out_indices=(1, 5), width_mult=1 / 16))
    net.eval()
    with torch.no_grad():
        x = torch.randn(2, 3, 64, 64)
        picked = net(x)
        net.out_indices = ALL_TAPS
        every = net(x)
    assert len(picked) == 2
    assert torch.equal(picked[0], every[1])
    assert torch.equal(picked[1], every[5])


def _pretrained(tmp_path, state, width=1 / 16, **init):
    path = str(tmp_path / 'resnet38d.pth')
    torch.save(state, path)
    init_default_scope('mmseg')
    net = MODELS.build(
        dict(
            type='WideResNet38',
            width_mult=width,
            init_cfg=dict(type='Pretrained', checkpoint=path, **init)))
    return net, path


def test_converted_file_loads_every_tensor(tmp_path, mm_log):
    state = synthetic_file(1 / 16, torch.Generator().manual_seed(0))
    # PSA's CAM checkpoints add fc8; MXNet's converter may keep linear1000
    state['fc8.weight'] = torch.zeros(20, 256, 1, 1)
    net, path = _pretrained(tmp_path, state)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.init_weights()
    after = net.state_dict()
    for key in converted_file_shapes(1 / 16):
        assert torch.equal(after[key], state[key]), key
        assert not torch.equal(before[key], state[key]), key
    reported = [r.getMessage() for r in mm_log if 'not in' in r.getMessage()]
    assert reported and 'fc8.weight' in reported[0] and path in reported[0]


def test_prefixed_segmentor_checkpoint_loads_with_prefix(tmp_path):
    state = synthetic_file(1 / 16, torch.Generator().manual_seed(1))
    ckpt = dict(
        meta=dict(iter=3),
        state_dict={
            f'backbone.{k}': v
            for k, v in state.items()
        })
    ckpt['state_dict']['cam_head.classifier.weight'] = torch.zeros(2, 2)
    net, _ = _pretrained(tmp_path, ckpt, prefix='backbone.')
    net.init_weights()
    assert torch.equal(net.state_dict()['b4_5.bn_branch2b1.bias'],
                       state['b4_5.bn_branch2b1.bias'])


def test_renamed_key_fails_naming_it(tmp_path):
    state = synthetic_file(1 / 16, torch.Generator().manual_seed(0))
    state['b4_5.bn_2b1.bias'] = state.pop('b4_5.bn_branch2b1.bias')
    net, path = _pretrained(tmp_path, state)
    with pytest.raises(KeyError, match=r'b4_5\.bn_branch2b1\.bias') as info:
        net.init_weights()
    assert path in str(info.value)


def test_unstripped_prefix_and_wrong_width_fail(tmp_path):
    state = synthetic_file(1 / 16, torch.Generator().manual_seed(0))
    net, _ = _pretrained(tmp_path, {
        f'module.{k}': v
        for k, v in state.items()
    })
    with pytest.raises(KeyError, match='191 key'):
        net.init_weights()
    net, _ = _pretrained(tmp_path, state, width=1 / 8)
    with pytest.raises(ValueError, match='width_mult'):
        net.init_weights()


def test_missing_file_names_it_and_the_docs(tmp_path):
    init_default_scope('mmseg')
    missing = str(tmp_path / 'nowhere' / 'resnet38d.pth')
    net = MODELS.build(
        dict(
            type='WideResNet38',
            width_mult=1 / 16,
            init_cfg=dict(type='Pretrained', checkpoint=missing)))
    with pytest.raises(FileNotFoundError) as info:
        net.init_weights()
    assert missing in str(info.value)
    assert 'docs/advanced_guides/resnet38_preset.md' in str(info.value)


def test_frozen_layers_and_bn_get_no_gradient_and_keep_statistics():
    torch.manual_seed(0)
    net = WideResNet38(out_indices=(2, 5), width_mult=1 / 16)
    net.train()
    stats = {
        k: v.clone()
        for k, v in net.state_dict().items() if 'running' in k
    }
    sum(t.sum() for t in net(torch.randn(2, 3, 40, 40))).backward()
    for name, param in net.named_parameters():
        frozen = name.split('.')[0] in ('conv1a', 'b2', 'b2_1', 'b2_2') or \
            '.bn' in f'.{name}'
        assert param.requires_grad is not frozen, name
        assert (param.grad is None) is frozen, name
    for key, value in net.state_dict().items():
        if 'running' in key:
            assert torch.equal(value, stats[key]), key
    assert net.b3.conv_branch2a.weight.grad.abs().sum() > 0


def test_dropout_trains_and_bn_learns_when_not_frozen():
    torch.manual_seed(0)
    net = WideResNet38(width_mult=1 / 16, frozen_bn=False, frozen_layers=())
    net.train()
    x = torch.randn(2, 3, 32, 32)
    first, second = net(x)[0], net(x)[0]
    assert not torch.equal(first, second)  # b6/b7 Dropout2d active
    assert not torch.equal(net.bn7.running_mean,
                           torch.zeros_like(net.bn7.running_mean))
    assert all(p.requires_grad for p in net.parameters())
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x)[0], net(x)[0])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='width_mult'):
        WideResNet38(width_mult=0.3)
    with pytest.raises(ValueError, match='out_indices'):
        WideResNet38(out_indices=(6, ), width_mult=1 / 16)
    with pytest.raises(ValueError, match='frozen_layers'):
        WideResNet38(frozen_layers=('b2_3', ), width_mult=1 / 16)


def test_no_init_cfg_keeps_default_init():
    net = WideResNet38(width_mult=1 / 16)
    weight = net.b3.conv_branch2a.weight.clone()
    net.init_weights()
    assert torch.equal(net.b3.conv_branch2a.weight, weight)
