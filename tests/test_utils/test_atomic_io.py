# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Atomic writes: the old bytes or the new, never a part."""
import os
import resource
import signal

import pytest
from mmengine.fileio import get_file_backend

from mmseg_wsss.utils import (AtomicLocalBackend, temp_path,
                              write_file_atomically)


def test_write_replaces_whole_files_and_follows_symlinks(tmp_path):
    target = tmp_path / 'sub' / 'a.bin'
    write_file_atomically(b'first', str(target))
    link = tmp_path / 'link.bin'
    link.symlink_to(target)
    write_file_atomically(b'second', str(link))
    assert link.is_symlink() and target.read_bytes() == b'second'
    assert sorted(os.listdir(target.parent)) == ['a.bin']
    assert temp_path('/d/a.bin') == '/d/.a.bin.part'


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / 'a.bin'
    target.write_bytes(b'old')
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, hard))
    try:
        with pytest.raises(OSError, match='too large'):
            write_file_atomically(b'x' * 64, str(target))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['a.bin']


def test_backend_is_selected_by_name(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='local_atomic'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text('iter_2.pth', tmp_path / 'last_checkpoint')
    backend.put(b'\x00\x01', str(tmp_path / 'ckpt.pth'))
    assert backend.get_text(tmp_path / 'last_checkpoint') == 'iter_2.pth'
    assert backend.get(tmp_path / 'ckpt.pth') == b'\x00\x01'
    # not a regular file: written in place, not replaced
    backend.put(b'data', os.devnull)
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
