# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""tools/make_pseudo_labels.py as users run it: killed and resumed, and
under torchrun with two ranks."""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
from file_utils import read_files
from subprocess_utils import run_logged, torchrun

from mmseg_wsss.utils import SPLIT_FILE, read_split_names

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'make_pseudo_labels.py')


@pytest.fixture(scope='module')
def reference(toy_cam_checkpoint, small_root, load_tool, tmp_path_factory):
    """An uninterrupted single-process export of the small ``train`` split,
    by the tool in this process."""
    tmp = tmp_path_factory.mktemp('tool_reference')
    load_tool('make_pseudo_labels').main(
        args(toy_cam_checkpoint, small_root, tmp / 'pseudo', tmp / 'logs'))
    return str(tmp / 'pseudo')


def args(toy_cam_checkpoint, small_root, out_dir, work_dir):
    """The tool's arguments: the small ``train`` split of ``small_root``."""
    return [
        *toy_cam_checkpoint, '--out',
        str(out_dir), '--split', 'train', '--work-dir',
        str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={small_root}'
    ]


def test_sigkill_then_resume(toy_cam_checkpoint, small_root, reference,
                             load_tool, tmp_path, capsys):
    out_dir = str(tmp_path / 'pseudo')
    argv = args(toy_cam_checkpoint, small_root, out_dir, tmp_path / 'logs')
    log = tmp_path / 'stderr.txt'
    with open(log, 'w') as stderr:
        proc = subprocess.Popen([sys.executable, TOOL, *argv],
                                cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL,
                                stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if osp.isdir(out_dir) and sum(
                    f.endswith('.png') for f in os.listdir(out_dir)) >= 3:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f'the export ended by itself: {log.read_text()[-2000:]}')
    expected = read_files(reference)
    partial = read_files(out_dir)
    done = {f for f in partial if f.endswith('.png')}
    pngs = {f for f in expected if f.endswith('.png')}
    assert 3 <= len(done) < len(pngs)
    # every PNG on disk is complete: atomic writes
    for fname in done:
        assert partial[fname] == expected[fname]

    # the rerun runs in this process: the same code, one start-up less
    capsys.readouterr()
    load_tool('make_pseudo_labels').main(argv)
    counts = re.search(r'(\d+) images written, (\d+) skipped',
                       capsys.readouterr().out)
    assert counts is not None
    assert int(counts[2]) == len(done)
    assert int(counts[1]) == len(pngs) - len(done)
    # no temporary file left, and the same bytes as an uninterrupted run
    assert read_files(out_dir) == expected


def test_torchrun_two_ranks_equal_one(toy_cam_checkpoint, small_root,
                                      reference, tmp_path):
    """``--launcher pytorch`` under torchrun: two gloo ranks, each a shard."""
    out_dir = tmp_path / 'pseudo'
    output = run_logged(
        torchrun(2) + [TOOL] +
        args(toy_cam_checkpoint, small_root, out_dir, tmp_path / 'logs') +
        ['--launcher', 'pytorch'], str(tmp_path / 'torchrun.log'))
    names = read_split_names(
        osp.join(small_root, SPLIT_FILE.format(split='train')))
    # rank 0 reports the sum over both ranks, once
    assert output.count('images written') == 1
    assert f'{len(names)} images written, 0 skipped' in output
    assert read_files(str(out_dir)) == read_files(reference)
