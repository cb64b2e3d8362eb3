# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Weights-only loading of mmengine checkpoints; hostile files refused."""
import copyreg
import functools
import http.server
import os
import os.path as osp
import pathlib
import pickletools
import re
import threading
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
from linear_runner import ToyModel, linear_runner
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint

from mmseg_wsss.utils import (UnsafeCheckpointError,
                              allow_mmengine_checkpoints,
                              load_checkpoint_safely)

# torch honours this variable whenever a caller leaves weights_only unset, as
# mmengine does; our loaders must stay weights-only even so.
NO_WEIGHTS_ONLY_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


@pytest.fixture(autouse=True)
def _checkpoints_allowed():
    """``import mmseg_wsss`` does this too; a second call changes nothing."""
    allow_mmengine_checkpoints()


def _pickle_globals(path):
    """``'module name'`` of every GLOBAL opcode in a zip checkpoint."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith('data.pkl'))
        data = archive.read(name)
    return {
        arg
        for opcode, arg, _ in pickletools.genops(data)
        if opcode.name == 'GLOBAL'
    }


def _assert_state_dicts_equal(actual, expected):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key


def test_runner_resume_and_load_from_weights_only(tmp_path, monkeypatch):
    monkeypatch.delenv(NO_WEIGHTS_ONLY_ENV, raising=False)
    work_dir = str(tmp_path / 'train')
    first = linear_runner(work_dir, f'{tmp_path.name}-first', max_iters=4)
    first.train()
    last = osp.join(work_dir, 'iter_4.pth')
    names = _pickle_globals(last)
    # mmengine's types are in the file (torch alone would refuse them), but
    # no getattr: our HistoryBuffer reducer keeps it out.
    assert 'mmengine.logging.history_buffer HistoryBuffer' in names
    assert 'numpy._core.multiarray _reconstruct' in names
    assert not any('getattr' in name for name in names)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(last) == []

    resumed = linear_runner(
        work_dir, f'{tmp_path.name}-resumed', max_iters=6, resume=True)
    resumed.load_or_resume()
    assert resumed.iter == 4
    _assert_state_dicts_equal(resumed.model.state_dict(),
                              first.model.state_dict())
    momentum = first.optim_wrapper.state_dict()['state'][0]['momentum_buffer']
    assert torch.equal(
        resumed.optim_wrapper.state_dict()['state'][0]['momentum_buffer'],
        momentum)
    # MultiStepLR: lr 0.1 decayed by 0.1 at iteration 2 -> 0.01
    assert resumed.optim_wrapper.get_lr()['lr'] == pytest.approx([0.01])
    loss_history = resumed.message_hub.get_scalar('train/loss')
    assert isinstance(loss_history, HistoryBuffer)
    np.testing.assert_array_equal(
        loss_history.data[0],
        first.message_hub.get_scalar('train/loss').data[0])
    resumed.train()
    assert resumed.iter == 6
    assert osp.isfile(osp.join(work_dir, 'iter_6.pth'))

    middle = osp.join(work_dir, 'iter_2.pth')
    expected = load_checkpoint_safely(middle)['state_dict']
    assert not torch.equal(expected['linear.weight'],
                           first.model.linear.weight)
    loaded = linear_runner(
        str(tmp_path / 'finetune'),
        f'{tmp_path.name}-loaded',
        max_iters=4,
        load_from=middle)
    loaded.load_or_resume()
    assert loaded.iter == 0
    _assert_state_dicts_equal(loaded.model.state_dict(), expected)

    pretrained = ToyModel(init_cfg=dict(type='Pretrained', checkpoint=middle))
    pretrained.init_weights()
    _assert_state_dicts_equal(pretrained.state_dict(), expected)


def test_stock_history_buffer_checkpoint_loads(tmp_path, monkeypatch):
    monkeypatch.delenv(NO_WEIGHTS_ONLY_ENV, raising=False)
    buffer = HistoryBuffer()
    for value in (1, 2, 6):
        buffer.update(value)
    checkpoint = dict(
        message_hub=dict(log_scalars={'train/loss': buffer}),
        meta=dict(best_score=np.float64(0.5)))
    stock = str(tmp_path / 'stock.pth')
    with monkeypatch.context() as patch:
        # As written by a process that never imported mmseg_wsss.
        patch.delitem(copyreg.dispatch_table, HistoryBuffer)
        torch.save(checkpoint, stock)
    assert '__builtin__ getattr' in _pickle_globals(stock)

    loaded = load_checkpoint_safely(stock)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert type(restored) is HistoryBuffer
    np.testing.assert_array_equal(restored.data[0], [1, 2, 6])
    # (1 + 2 + 6) / 3 updates
    assert restored.statistics('mean') == 3.
    assert loaded['meta']['best_score'] == np.float64(0.5)

    ours = str(tmp_path / 'ours.pth')
    torch.save(loaded, ours)
    assert not any('getattr' in name for name in _pickle_globals(ours))
    again = load_checkpoint_safely(ours)['message_hub']['log_scalars']
    assert again['train/loss'].statistics('max') == 6


def test_numpy1_checkpoint_loads(tmp_path):
    checkpoint = dict(
        meta=dict(palette=np.arange(3, dtype=np.uint8), best=np.float64(0.5)))
    path = tmp_path / 'numpy1.pth'
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    # numpy 1.x pickles its reconstructors under ``numpy.core``; the legacy
    # format stores the pickle as is, so a byte edit reproduces such a file.
    assert data.count(b'numpy._core.multiarray') == 2
    path.write_bytes(
        data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    meta = load_checkpoint_safely(str(path))['meta']
    np.testing.assert_array_equal(meta['palette'], [0, 1, 2])
    assert meta['palette'].dtype == np.uint8
    assert meta['best'] == 0.5


def test_empty_arrays_and_history_buffer_load(tmp_path):
    # protocol 2 pickles the empty data of an empty array as ``bytes()``
    empty = HistoryBuffer()
    checkpoint = dict(
        message_hub=dict(log_scalars={'val/mIoU': empty}),
        meta=dict(scores=np.empty(0), ids=np.zeros((0, 3), np.int64)))
    path = str(tmp_path / 'empty.pth')
    torch.save(checkpoint, path)
    assert '__builtin__ bytes' in _pickle_globals(path)

    loaded = load_checkpoint_safely(path)
    buffer = loaded['message_hub']['log_scalars']['val/mIoU']
    assert type(buffer) is HistoryBuffer
    assert buffer.data[0].size == 0
    buffer.update(4.)
    assert buffer.current() == 4.
    assert loaded['meta']['scores'].shape == (0, )
    assert loaded['meta']['ids'].shape == (0, 3)
    assert loaded['meta']['ids'].dtype == np.int64


class _Reduce:
    """Pickles as ``func(*args)``, then ``BUILD state`` if given."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        if self.state is None:
            return self.func, self.args
        return self.func, self.args, self.state


def _code_payloads(marker):
    """Payloads that would create ``marker`` if unpickled."""
    create = f'open({str(marker)!r}, "w").close()'
    return [
        (_Reduce(os.system, (f'touch {marker}', )),
         re.escape(f'{os.system.__module__}.system')),
        (_Reduce(eval, (create, )), r'builtins\.eval'),
        (_Reduce(exec, (create, )), r'builtins\.exec'),
        # protocol 2 writes ``Path.touch`` as getattr(pathlib.Path, 'touch')
        (_Reduce(pathlib.Path.touch,
                 (pathlib.Path(marker), )), r'pathlib\.Path'),
    ]


def _getattr_payloads():
    """``getattr`` chains on allow-listed objects that reach further."""
    buffer_min = _Reduce(getattr, (HistoryBuffer, 'min'))
    return [
        (_Reduce(getattr, (HistoryBuffer, '__init__')),
         r"getattr\(HistoryBuffer, '__init__'\) is refused"),
        (_Reduce(getattr, (buffer_min, '__globals__')),
         r"getattr\(<function HistoryBuffer\.min at \S+>, '__globals__'\)"),
        (_Reduce(getattr, (torch.Tensor, '__subclasses__')),
         r"getattr\(<class 'torch\.Tensor'>, '__subclasses__'\)"),
        (_Reduce(getattr, (OrderedDict, '__class__')), r"'__class__'"),
        # a buffer whose class-level statistics would be overwritten
        (_Reduce(
            HistoryBuffer, (),
            dict(
                statistics_methods=dict(
                    mean=_Reduce(getattr, (HistoryBuffer, '__call__'))))),
         r"'__call__'\) is refused"),
    ]


def _save_with(payload, path):
    torch.save(
        dict(
            state_dict=OrderedDict(weight=torch.ones(2)),
            meta=dict(payload=payload)), path)


def _assert_clear_refusal(message):
    assert 'may be malicious' in message
    assert 'weights_only=False' not in message


@pytest.mark.parametrize(
    'index', range(4), ids=['os.system', 'eval', 'exec', 'Path.touch'])
def test_code_payload_refused_without_side_effect(tmp_path, monkeypatch,
                                                  index):
    monkeypatch.setenv(NO_WEIGHTS_ONLY_ENV, '1')
    marker = tmp_path / 'code_ran'
    payload, refused = _code_payloads(marker)[index]
    path = str(tmp_path / 'evil.pth')
    _save_with(payload, path)
    with pytest.raises(UnsafeCheckpointError, match=refused) as info:
        load_checkpoint_safely(path)
    _assert_clear_refusal(str(info.value))
    assert not marker.exists()


@pytest.mark.parametrize(
    'index',
    range(5),
    ids=[
        '__init__', '__globals__', '__subclasses__', '__class__', 'statistics'
    ])
def test_getattr_chain_refused(tmp_path, index):
    payload, refused = _getattr_payloads()[index]
    path = str(tmp_path / 'evil.pth')
    _save_with(payload, path)
    with pytest.raises(UnsafeCheckpointError, match=refused) as info:
        load_checkpoint_safely(path)
    _assert_clear_refusal(str(info.value))
    # nothing was put in mmengine's class-level table (which the first
    # HistoryBuffer of the process fills: it may still be empty here)
    assert HistoryBuffer._statistics_methods.get(
        'mean', HistoryBuffer.mean) is HistoryBuffer.mean


def test_checkpoint_cannot_swap_history_buffer_statistics(tmp_path):
    # getattr(HistoryBuffer, 'max') is allowed, but stock __setstate__ would
    # make it the process-wide 'mean'.
    state = dict(
        max_length=10,
        _log_history=np.array([1., 3.]),
        _count_history=np.array([1, 1]),
        statistics_methods=dict(mean=_Reduce(getattr, (HistoryBuffer, 'max'))))
    path = str(tmp_path / 'swap.pth')
    _save_with(_Reduce(HistoryBuffer, (), state), path)
    buffer = load_checkpoint_safely(path)['meta']['payload']
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert type(buffer) is HistoryBuffer
    # (1 + 3) / 2, not the max 3
    assert buffer.statistics('mean') == 2.


@pytest.mark.parametrize(
    'args', [(10**12, ), ('code', 'utf-8'), ([1, 2], )],
    ids=['size', 'str', 'list'])
def test_bytes_with_arguments_refused(tmp_path, args):
    # ``bytes(n)`` would allocate n bytes: only ``bytes()`` is allowed
    path = str(tmp_path / 'evil.pth')
    _save_with(_Reduce(bytes, args), path)
    with pytest.raises(
            UnsafeCheckpointError,
            match=r'bytes\(\) with arguments .* is refused'):
        load_checkpoint_safely(path)


def test_object_array_refused(tmp_path):
    # An object array from raw bytes would turn the bytes into pointers.
    reconstruct = np.empty(0).__reduce__()[0]
    payload = _Reduce(reconstruct, (np.ndarray, (0, ), b'b'),
                      (1, (1, ), np.dtype(object), False, b'A' * 8))
    path = str(tmp_path / 'evil.pth')
    _save_with(payload, path)
    with pytest.raises(UnsafeCheckpointError, match='ObjectDType'):
        load_checkpoint_safely(path)


def test_runner_load_from_refuses_code(tmp_path, monkeypatch):
    monkeypatch.setenv(NO_WEIGHTS_ONLY_ENV, '1')
    marker = tmp_path / 'code_ran'
    path = str(tmp_path / 'evil.pth')
    _save_with(_Reduce(os.system, (f'touch {marker}', )), path)
    runner = linear_runner(
        str(tmp_path / 'work'),
        f'{tmp_path.name}-evil',
        max_iters=2,
        load_from=path)
    with pytest.raises(UnsafeCheckpointError, match=re.escape(path)) as info:
        runner.load_or_resume()
    _assert_clear_refusal(str(info.value))
    assert not marker.exists()


@pytest.fixture
def http_dir(tmp_path, monkeypatch):
    """A directory served over HTTP on localhost; yields (dir, base URL)."""
    served = tmp_path / 'served'
    served.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('no_proxy', '127.0.0.1')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f'http://127.0.0.1:{server.server_port}'
    server.shutdown()
    server.server_close()
    thread.join()


def test_url_checkpoint_weights_only(http_dir, tmp_path):
    # torch.hub.load_state_dict_from_url, which mmengine uses for URLs,
    # unpickles with weights_only=False: stock, the payload would run.
    served, base_url = http_dir
    marker = tmp_path / 'code_ran'
    _save_with(
        _Reduce(os.system, (f'touch {marker}', )), str(served / 'evil.pth'))
    model = ToyModel()
    torch.save(dict(state_dict=model.state_dict()), served / 'good.pth')

    other = ToyModel()
    load_checkpoint(other, f'{base_url}/good.pth', map_location='cpu')
    _assert_state_dicts_equal(other.state_dict(), model.state_dict())
    with pytest.raises(
            UnsafeCheckpointError,
            match=re.escape(f'downloaded from {base_url}/evil.pth')) as info:
        load_checkpoint(other, f'{base_url}/evil.pth', map_location='cpu')
    _assert_clear_refusal(str(info.value))
    assert not marker.exists()
