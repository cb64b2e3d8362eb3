# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Prototype memory mode 'replace' (the authors' code): the batch is pushed,
then the memory's per-class mean is every image's prototype."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_wsss  # noqa: F401
from mmseg_wsss.models.heads import PROTO_MEMORY, PROTO_NONE
from mmseg_wsss.models.losses import PrototypeMemory
from mmseg_wsss.models.losses.regional_contrastive_loss import (
    memory_prototypes, memory_pushable)

S = 1 / math.sqrt(2)


def _memory_with(bank_rows):
    """A memory of C = 2 classes, D = 2, Q = 2 holding ``bank_rows``:
    ``{class: [prototype, ...]}`` pushed in order."""
    memory = PrototypeMemory(num_classes=2, dim=2, size=2)
    for cls, rows in bank_rows.items():
        for row in rows:
            protos = torch.zeros(1, 3, 2)
            protos[0, cls] = torch.tensor(row)
            valid = torch.zeros(1, 3, dtype=torch.bool)
            valid[0, cls] = True
            memory.update(protos, valid)
    return memory


def test_pushable_needs_a_unit_prototype_of_a_valid_class():
    protos = torch.tensor([[[1., 0.], [0., 0.], [0.6, 0.8]],
                           [[0., 1.], [0.5, 0.], [0., 1.]]])
    valid = torch.tensor([[True, True, True], [True, True, False]])
    # (0, 1): valid but a zero vector; (1, 1): norm 0.5; (1, 2): invalid
    assert memory_pushable(protos, valid).tolist() == [[True, False, True],
                                                       [True, False, False]]


def test_memory_mean_replaces_the_batch_prototypes_for_every_image():
    # class 0 holds e0; class 1 holds e1 then e0 (FIFO full); class 2 empty
    memory = _memory_with({0: [[1., 0.]], 1: [[0., 1.], [1., 0.]]})
    before = {k: v.clone() for k, v in memory.state_dict().items()}
    protos = torch.tensor([
        [[0., 1.], [0., 1.], [0., 0.]],  # image 0: classes 0 and 1
        [[0., 0.], [0., 0.], [0., 0.]],  # image 1: nothing
    ])
    valid = torch.tensor([[True, True, False], [False, False, False]])
    out, in_memory = memory_prototypes(protos, valid, memory)
    # class 0: mean(e0, e1) -> (s, s); class 1: e1 overwrites the oldest
    # slot (e1), FIFO = (e1, e0) -> (s, s); class 2: none -> zero
    expected = torch.tensor([[S, S], [S, S], [0., 0.]])
    assert out.shape == (2, 3, 2)
    for img in range(2):
        torch.testing.assert_close(out[img], expected)
    assert in_memory.tolist() == [True, True, False]
    # the memory itself is only read
    for key, value in memory.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_own_prototype_counts_no_leave_one_out():
    memory = PrototypeMemory(num_classes=2, dim=2, size=5)
    protos = torch.tensor([[[0.6, 0.8], [0., 0.], [0., 0.]]])
    valid = torch.tensor([[True, False, False]])
    out, _ = memory_prototypes(protos, valid, memory)
    # a batch of one works and sees its own prototype
    torch.testing.assert_close(out[0, 0], torch.tensor([0.6, 0.8]))


def _head(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='RCMHead',
        num_classes=2,
        channels=2,
        memory_size=2,
        memory_mode='replace',
        region_thrs=(0.3, 0.3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_head_targets_then_update_agree_with_the_pure_function():
    head = _head()
    # two images of 1 x 2 pixels; both labelled class 0 (channel 0)
    cams = torch.tensor([[[[1., 0.]]], [[[0., 1.]]]])  # (2, 1, 1, 2)
    feats = torch.tensor([[[[1., 0.]], [[0., 1.]]],
                          [[[0., 0.]], [[1., 1.]]]])  # (2, 2, 1, 2)
    labels = torch.tensor([[1., 0.], [1., 0.]])
    valid = torch.ones(2, 1, 2, dtype=torch.bool)
    targets = head.targets([cams], cams, feats, labels, torch.tensor([0]),
                           valid)
    # image 0: class 1 (id of channel 0) at pixel 0 with feature e0,
    # background at pixel 1 with e1; image 1: background e1, class e1
    assert targets.target.tolist() == [[[1, 0]], [[0, 1]]]
    # background: e1 twice -> e1; class 1: e0 and e1 -> (s, s); class 2:
    # no prototype anywhere -> zero, source none
    expected = torch.tensor([[0., 1.], [S, S], [0., 0.]])
    for img in range(2):
        torch.testing.assert_close(targets.protos[img], expected)
    source = [PROTO_MEMORY, PROTO_MEMORY, PROTO_NONE]
    assert targets.proto_source.tolist() == [source, source]
    assert not head.memory.filled.any()  # targets() only reads
    head.update_memory(targets)
    assert head.memory.filled.sum(dim=1).tolist() == [2, 2, 0]
    # the next batch sees what was pushed: all its pixels are padding, so
    # it has no prototype of its own and gets the memory's mean again
    empty = head.targets([cams], cams, feats, labels, torch.tensor([0]),
                         torch.zeros_like(valid))
    torch.testing.assert_close(empty.protos[0, :2], expected[:2])


def test_replace_needs_a_memory_and_a_known_mode():
    with pytest.raises(ValueError, match='memory_size >= 1'):
        _head(memory_size=0)
    with pytest.raises(ValueError, match="'add' or 'replace'"):
        _head(memory_mode='swap')
