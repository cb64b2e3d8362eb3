# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Atomic file writes: readers see the old bytes or the new, never a part."""
import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

# Suffix of the temporary files of atomic writes; a leading dot hides them.
TEMP_SUFFIX = '.part'


def temp_path(path: str) -> str:
    """The temporary file that :func:`write_file_atomically` uses for
    ``path``: fixed per target, so a rerun overwrites what a killed run
    left, and hidden (``.{name}.part``) next to it."""
    return osp.join(osp.dirname(path), '.' + osp.basename(path) + TEMP_SUFFIX)


def write_file_atomically(data: bytes, filepath: str) -> None:
    """Write ``data`` to ``filepath`` so that readers see old or new bytes.

    The bytes go to :func:`temp_path` in the same directory, are flushed to
    disk, then renamed over ``filepath`` (``os.replace`` is atomic within a
    file system). A crash, ``SIGKILL`` or full disk while writing leaves the
    previous file untouched; the temporary file is removed on errors raised
    in this process. A symlink is followed, so its target is replaced.

    Args:
        data (bytes): The new content.
        filepath (str): The file to write; its directory is created.
    """
    target = osp.realpath(filepath)
    os.makedirs(osp.dirname(target), exist_ok=True)
    tmp = temp_path(target)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            # without it a power cut can leave the renamed file empty
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


@register_backend('local_atomic')
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put`` and ``put_text``.

    ``LocalBackend`` truncates the target first, so a ``SIGKILL``, full disk
    or quota error while writing leaves a partial file. Select it with
    ``backend_args=dict(backend='local_atomic')`` (e.g. in
    :class:`~mmseg_wsss.engine.AtomicCheckpointHook`). Targets that exist
    but are not regular files (``/dev/null``, a FIFO) cannot be replaced by
    a rename, so they are written in place.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): Data to write.
            filepath (str | Path): Path to write to.
        """
        filepath = str(filepath)
        if osp.exists(filepath) and not osp.isfile(filepath):
            with open(filepath, 'wb') as f:
                f.write(obj)
            return
        write_file_atomically(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to write.
            filepath (str | Path): Path to write to.
            encoding (str): Encoding of the text. Defaults to 'utf-8'.
        """
        self.put(obj.encode(encoding), filepath)
