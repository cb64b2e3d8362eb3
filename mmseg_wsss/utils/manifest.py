# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The manifest of an export folder: what made its files.

Each export folder (pseudo labels, CAMs, relation labels, refined labels)
holds ``manifest.json``: the settings that decide its files (config,
checkpoint name and short hash, every flag that changes the output) and the
splits written into it. An export into a folder checks it first: the same
settings resume (the finished images are skipped), other settings stop with
an error that names what differs, so that a folder never mixes the files of
two settings without a word.

An ``--overwrite`` export that replaces other settings marks the manifest
``unfinished_overwrite`` until it ends (:func:`finish_manifest`): killed
half-way, its folder still holds files of the old settings, so a resume
without ``--overwrite`` (which would keep them) is refused.
"""
import hashlib
import json
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.dist import is_main_process

from .atomic_io import write_file_atomically

UNFINISHED = 'unfinished_overwrite'
MANIFEST_FILE = 'manifest.json'


def file_digest(path: str, length: int = 8) -> str:
    """The first ``length`` hex digits of the SHA-256 of a file (as
    mmengine's ``publish_model`` names checkpoints).

    Raises:
        FileNotFoundError: ``path`` is not a file.
    """
    sha = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            sha.update(block)
    return sha.hexdigest()[:length]


def checkpoint_id(path: str) -> str:
    """A checkpoint as a manifest names it: ``'{file name} (sha256
    {8 hex digits})'``; the folder it lies in does not count. A path that
    is no local file (a URL) is named by its file name alone."""
    if not osp.isfile(path):
        return osp.basename(path)
    return f'{osp.basename(path)} (sha256 {file_digest(path)})'


def read_manifest(folder: str) -> Optional[dict]:
    """The manifest of ``folder``, None when it has none.

    Raises:
        ValueError: The file is not a manifest (the message names it).
    """
    path = osp.join(folder, MANIFEST_FILE)
    if not osp.exists(path):
        return None
    try:
        with open(path) as f:
            manifest = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path} is not valid JSON ({err}); delete it or '
                         'pass --overwrite') from err
    if not isinstance(manifest, dict) or not isinstance(
            manifest.get('settings'), dict):
        raise ValueError(f'{path} has no "settings" object; delete it or '
                         'pass --overwrite')
    return manifest


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it (tuples as lists, ConfigDicts as dicts)."""
    return json.loads(json.dumps(value))


def settings_diff(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """Lines ``'key: A in the folder, B now'`` for every setting that
    differs (a missing key shows as 'unset')."""
    old, new = _plain(old), _plain(new)
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key, '<unset>') != new.get(key, '<unset>'):
            lines.append(f'{key}: {json.dumps(old.get(key, "unset"))} in the '
                         f'folder, {json.dumps(new.get(key, "unset"))} now')
    return lines


def check_manifest(folder: str,
                   settings: Dict[str, Any],
                   split: Optional[str] = None,
                   overwrite: bool = False,
                   out_flag: str = '--out') -> dict:
    """Check the manifest of an export folder and write this export's.

    No manifest: ``settings`` becomes it. The same settings: the export
    resumes in the folder (``split`` is added to its splits). Other
    settings: an error, unless ``overwrite`` (the export then recomputes
    every image and the manifest is replaced). Written atomically, so a
    killed export leaves the old manifest or the new one.

    Args:
        folder (str): The export folder (created if missing).
        settings (dict): Everything that decides the folder's files,
            JSON-serialisable (e.g. ``config``, ``checkpoint``, ``bg_thr``).
        split (str, optional): The split being exported, listed under
            ``splits``. Defaults to None.
        overwrite (bool): Replace a manifest with other settings. Defaults
            to False.
        out_flag (str): The option that chose ``folder``, for the error.
            Defaults to '--out'.

    Returns:
        dict: The manifest now in the folder.

    Raises:
        ValueError: The folder holds files of other settings; the message
            names each difference and the two ways out.
    """
    settings = _plain(settings)
    old = None if overwrite else read_manifest(folder)
    if old is not None and old.get(UNFINISHED):
        raise ValueError(
            f'{folder}: an --overwrite export with other settings into this '
            'folder did not finish, so it still holds files of the earlier '
            f'settings ({MANIFEST_FILE}: {UNFINISHED}); rerun it with '
            f'--overwrite, or write to another folder ({out_flag} DIR).')
    if old is not None:
        diff = settings_diff(old['settings'], settings)
        if diff:
            raise ValueError(
                f'{folder} holds outputs made with other settings (its '
                f'{MANIFEST_FILE}):\n  ' + '\n  '.join(diff) +
                f'\nWrite to another folder ({out_flag} DIR), or pass '
                '--overwrite to recompute every image into this one.')
    splits = [] if old is None else list(old.get('splits', []))
    if split is not None and split not in splits:
        splits.append(split)
    manifest = dict(settings=settings, splits=splits)
    if overwrite and _replaces_other_settings(folder, settings):
        manifest[UNFINISHED] = True
    # every rank checks; one writes (the ranks share one temporary file)
    if manifest != old and is_main_process():
        _write(folder, manifest)
    return manifest


def _replaces_other_settings(folder: str, settings: Dict[str, Any]) -> bool:
    """Whether the folder's manifest is unreadable, unfinished or holds other
    settings than ``settings``."""
    try:
        old = read_manifest(folder)
    except ValueError:
        return True
    return old is not None and (bool(old.get(UNFINISHED)) or bool(
        settings_diff(old['settings'], settings)))


def _write(folder: str, manifest: dict) -> None:
    write_file_atomically(
        (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode(),
        osp.join(folder, MANIFEST_FILE))


def finish_manifest(folder: str) -> None:
    """Clear the ``unfinished_overwrite`` mark once an export has written
    every image of its split (main process only)."""
    if not is_main_process():
        return
    manifest = read_manifest(folder)
    if manifest is not None and manifest.pop(UNFINISHED, None):
        _write(folder, manifest)
