# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The manifest of an export folder: written, resumed, refused, replaced."""
import hashlib
import json
import os

import pytest

from mmseg_wsss.utils.manifest import (MANIFEST_FILE, UNFINISHED,
                                       check_manifest, checkpoint_id,
                                       finish_manifest, read_manifest)

SETTINGS = dict(
    config='cam.py',
    checkpoint='iter_8.pth (sha256 0123abcd)',
    bg_thr=0.25,
    crf=dict(iters=10),
    test_cfg=dict(scales=(1.0, 0.5)))


def test_first_export_writes_it_and_the_same_settings_resume(tmp_path):
    folder = str(tmp_path / 'out')
    check_manifest(folder, SETTINGS, split='train_aug')
    with open(tmp_path / 'out' / MANIFEST_FILE) as f:
        written = json.load(f)
    # tuples as JSON holds them
    assert written == dict(
        settings=dict(SETTINGS, test_cfg=dict(scales=[1.0, 0.5])),
        splits=['train_aug'])
    # the same settings (a resumed export, another split) pass
    check_manifest(folder, dict(SETTINGS), split='train')
    assert read_manifest(folder)['splits'] == ['train_aug', 'train']
    assert sorted(os.listdir(folder)) == [MANIFEST_FILE]


def test_other_settings_are_refused_with_each_difference(tmp_path):
    folder = str(tmp_path / 'out')
    check_manifest(folder, SETTINGS, split='train_aug')
    before = (tmp_path / 'out' / MANIFEST_FILE).read_bytes()
    other = dict(SETTINGS, bg_thr=0.3, crf=None, ignore_band=0.05)
    with pytest.raises(ValueError) as err:
        check_manifest(folder, other, split='train_aug')
    message = str(err.value)
    assert folder in message
    assert 'bg_thr: 0.25 in the folder, 0.3 now' in message
    assert 'crf: {"iters": 10} in the folder, null now' in message
    assert 'ignore_band: "unset" in the folder, 0.05 now' in message
    # unchanged settings are not listed; both ways out are
    assert 'config' not in message and 'checkpoint' not in message
    assert '--out DIR' in message and '--overwrite' in message
    assert (tmp_path / 'out' / MANIFEST_FILE).read_bytes() == before
    # --overwrite replaces it, marked unfinished until the export ends
    check_manifest(folder, other, split='train', overwrite=True)
    assert read_manifest(folder) == dict(
        settings=dict(other, test_cfg=dict(scales=[1.0, 0.5])),
        splits=['train'],
        unfinished_overwrite=True)


def test_an_unfinished_overwrite_is_not_resumed_without_overwrite(tmp_path):
    folder = str(tmp_path / 'out')
    check_manifest(folder, SETTINGS, split='train_aug')
    other = dict(SETTINGS, bg_thr=0.3)
    check_manifest(folder, other, split='train_aug', overwrite=True)
    # killed here: files of bg_thr 0.25 may remain, so no plain resume
    with pytest.raises(ValueError, match='did not finish'):
        check_manifest(folder, other, split='train_aug')
    # the rerun with --overwrite stays marked until its export ends
    check_manifest(folder, other, split='train_aug', overwrite=True)
    assert read_manifest(folder)[UNFINISHED]
    finish_manifest(folder)
    assert UNFINISHED not in read_manifest(folder)
    check_manifest(folder, other, split='train')  # now a plain resume
    # --overwrite with the folder's own settings marks nothing
    check_manifest(folder, other, split='train', overwrite=True)
    assert UNFINISHED not in read_manifest(folder)


def test_a_broken_manifest_is_named(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text('{"settings": ')
    with pytest.raises(ValueError, match=MANIFEST_FILE):
        check_manifest(str(tmp_path), SETTINGS)
    (tmp_path / MANIFEST_FILE).write_text('[1, 2]')
    with pytest.raises(ValueError, match='no "settings"'):
        check_manifest(str(tmp_path), SETTINGS)
    check_manifest(str(tmp_path), SETTINGS, overwrite=True)
    assert read_manifest(str(tmp_path))['settings']['bg_thr'] == 0.25


def test_checkpoint_id_is_name_and_short_sha256(tmp_path):
    path = tmp_path / 'iter_4.pth'
    path.write_bytes(b'weights')
    digest = hashlib.sha256(b'weights').hexdigest()[:8]
    assert checkpoint_id(str(path)) == f'iter_4.pth (sha256 {digest})'
    # a URL (or a file not there) by its name
    assert checkpoint_id('https://host/w/iter_4.pth') == 'iter_4.pth'
