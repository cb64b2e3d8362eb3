# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Checkpoint safety: load mmengine checkpoints weights-only.

torch >= 2.6 loads with ``weights_only=True`` (tensors, plain containers and
allow-listed globals only), but mmengine 0.10.7 checkpoints also hold
``HistoryBuffer`` objects and numpy arrays and scalars (message hub, metric
results), so ``load_from``, ``resume`` and
``init_cfg=dict(type='Pretrained')`` fail. :func:`allow_mmengine_checkpoints`
allow-lists exactly those types and never turns ``weights_only`` off:

- ``HistoryBuffer.__getstate__`` adds the class-level dict
  ``{'min': HistoryBuffer.min, ...}`` to each buffer's state. Pickle protocol
  2 (what ``torch.save`` uses) writes a function with a dotted
  ``__qualname__`` as ``getattr(HistoryBuffer, 'min')``, so stock checkpoints
  need ``builtins.getattr``. The real ``getattr`` would let a crafted file
  reach any attribute of any allowed object; here ``builtins.getattr``
  resolves to a stand-in that returns those four functions and nothing else.
- Stock ``HistoryBuffer.__setstate__`` merges those pickled functions into
  the class-level dict every buffer shares; a crafted file could swap one
  for another allowed callable. Unpickled buffers drop them instead (the
  defaults are set again), and buffers pickled after the call (a ``copyreg``
  reducer) leave them out, so our checkpoints need no ``getattr`` at all.
- Protocol 2 pickles empty ``bytes`` (the data of an empty numpy array, as
  in a ``HistoryBuffer`` that logged nothing) as a call ``bytes()``, so
  ``builtins.bytes`` resolves to a stand-in that returns ``b''`` for that
  call and refuses any argument (``bytes(n)`` would allocate ``n`` bytes).
  Non-empty bytes are pickled as ``_codecs.encode``, which torch allows.
- mmengine fetches URL checkpoints (``http(s)://``, ``open-mmlab://``,
  ``torchvision://``, ``mmcls://``) with
  ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` still
  defaults to False, and reads local files with torch's default, which
  ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` turns off. Both go through
  :func:`load_checkpoint_safely` instead, which also explains a refusal
  without suggesting to trust the file.
- ``open-mmlab://NAME`` (the VOC configs' ImageNet weights) resolves to a URL
  in mmengine's ``hub/openmmlab.json``, fetched as above; a user's
  ``<mmengine home>/open_mmlab.json`` may map a name to a local file, which
  mmengine's loader reads with a bare ``torch.load``. That branch goes
  through :func:`load_checkpoint_safely` too.
"""
import copyreg
import logging
import os
import os.path as osp
import pickle
from urllib.parse import urlparse

import mmengine.runner.checkpoint as mmengine_checkpoint
import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import (get_deprecated_model_names,
                                        get_external_models)

# The functions ``HistoryBuffer.__getstate__`` pickles, by attribute name.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
# The globals that pickles of numpy arrays, dtypes and scalars name, by
# ``(module, name)``. numpy 2 pickles ``_reconstruct`` and ``scalar`` under
# ``numpy._core``, numpy 1 (most public files) under ``numpy.core``; they
# are taken from ``__reduce__`` so that no private module is imported.
_NUMPY_REDUCERS = dict(
    _reconstruct=np.empty(0).__reduce__()[0],
    scalar=np.float64(0).__reduce__()[0])
NUMPY_PICKLE_GLOBALS = {
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype
}
for _module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
    NUMPY_PICKLE_GLOBALS.update({
        (_module, name): obj
        for name, obj in _NUMPY_REDUCERS.items()
    })
# bool, signed and unsigned ints, floats, complex, bytes and str; not object,
# void (structured) or datetime dtypes, which mmengine does not write.
_NUMPY_DTYPE_CHARS = '?bBhHiIlLqQefdgFDGSU'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs globals outside the allow-list; it was not loaded."""


class _UnpickledHistoryBuffer(HistoryBuffer):
    """What a checkpoint's ``HistoryBuffer`` global resolves to.

    Stock ``HistoryBuffer.__setstate__`` merges the pickled statistics into
    the class-level ``_statistics_methods`` that every buffer in the process
    shares, so a crafted checkpoint could swap ``mean`` for another allowed
    callable. The defaults are set again anyway and custom statistics
    register when their module is imported, so the pickled ones are dropped;
    the object then becomes a plain ``HistoryBuffer``.
    """

    def __setstate__(self, state: dict) -> None:
        state = {
            key: value
            for key, value in state.items() if key != 'statistics_methods'
        }
        super().__setstate__(state)
        self.__class__ = HistoryBuffer


def _history_buffer_statistic(obj, name: str):
    """Stand-in for ``builtins.getattr`` while unpickling checkpoints.

    Args:
        obj: The object the pickle looks ``name`` up on.
        name (str): The attribute name.

    Returns:
        Callable: ``HistoryBuffer.<name>`` for the four default statistics
        (which :class:`_UnpickledHistoryBuffer` then drops).

    Raises:
        pickle.UnpicklingError: For any other object or name.
    """
    is_buffer = obj is _UnpickledHistoryBuffer
    if is_buffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    target = 'HistoryBuffer' if is_buffer else repr(obj)
    raise pickle.UnpicklingError(
        f'getattr({target}, {name!r}) is refused: checkpoints may only look '
        f'up HistoryBuffer.{{{",".join(_HISTORY_BUFFER_STATISTICS)}}}')


def _empty_bytes(*args) -> bytes:
    """Stand-in for ``builtins.bytes`` while unpickling checkpoints.

    Returns:
        bytes: ``b''``, what protocol 2 pickles as ``bytes()``.

    Raises:
        pickle.UnpicklingError: If called with any argument.
    """
    if args:
        raise pickle.UnpicklingError(
            f'bytes() with arguments {args!r:.60} is refused: checkpoints may '
            'only build empty bytes this way')
    return b''


def _reduce_history_buffer(buffer: HistoryBuffer) -> tuple:
    """Pickle a ``HistoryBuffer`` without its statistics functions.

    Unpickling sets the (class-level) functions again, so leaving them out
    loses nothing and keeps ``getattr`` out of the pickle.
    """
    state = {
        key: value
        for key, value in vars(buffer).items() if key != 'statistics_methods'
    }
    return copyreg.__newobj__, (HistoryBuffer, ), state


def _mmengine_safe_globals() -> list:
    """The non-tensor globals mmengine 0.10.7 checkpoints need.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``; a
        ``(obj, name)`` pair makes the pickled global ``name`` resolve to
        ``obj``.
    """
    safe_globals = [
        (_UnpickledHistoryBuffer,
         f'{HistoryBuffer.__module__}.{HistoryBuffer.__qualname__}'),
        (_history_buffer_statistic, 'builtins.getattr'),
        (_empty_bytes, 'builtins.bytes'),
    ]
    safe_globals += [(obj, f'{module}.{name}')
                     for (module, name), obj in NUMPY_PICKLE_GLOBALS.items()]
    # A pickled dtype names only ``numpy.dtype``, but unpickling builds an
    # instance of its class (``Float64DType``...), which must be allowed too.
    safe_globals += sorted({type(np.dtype(c))
                            for c in _NUMPY_DTYPE_CHARS},
                           key=lambda cls: cls.__name__)
    return safe_globals


def _refusal_message(filename: str, error: pickle.UnpicklingError) -> str:
    """Explain why the weights-only unpickler refused ``filename``."""
    # torch re-raises the unpickler's error with advice to turn weights_only
    # off; the original, without that advice, is the context.
    cause = error.__context__
    reason = (
        str(cause).split('. ')[0].rstrip('.') if isinstance(
            cause, pickle.UnpicklingError) else
        'it holds a non-allowed object')
    try:
        refused = torch.serialization.get_unsafe_globals_in_checkpoint(
            filename)
    except (ValueError, pickle.UnpicklingError):
        # Only zip checkpoints (torch >= 1.6) can be scanned for globals.
        refused = []
    listed = (f' Globals outside the allow-list: {", ".join(refused)}.'
              if refused else '')
    return (f'Refused to load checkpoint {filename}: {reason}.{listed} The '
            'file may be malicious (unpickling can run code), so nothing '
            'outside the allow-list was run. Only tensors, plain containers '
            'and the mmengine/numpy types listed in mmseg_wsss.utils.'
            'checkpoint are loaded.')


def load_checkpoint_safely(filename: str, map_location='cpu'):
    """Load a checkpoint with ``weights_only=True``, whatever the environment.

    Args:
        filename (str): Path of a file written by ``torch.save``; ``~`` is
            expanded.
        map_location (str | torch.device | Callable | dict): Where to put
            the tensors, as in ``torch.load``. Defaults to 'cpu'.

    Returns:
        Any: The checkpoint, usually a dict with ``state_dict`` and ``meta``.

    Raises:
        FileNotFoundError: If ``filename`` is no file.
        UnsafeCheckpointError: If the file needs a global outside the
            allow-list (see :func:`allow_mmengine_checkpoints`).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} does not exist.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(_refusal_message(filename,
                                                     error)) from None


def load_from_local_safely(filename: str, map_location=None):
    """mmengine's loader for local paths, via :func:`load_checkpoint_safely`.

    The ``load_from_<backend>`` name follows mmengine, whose log line prints
    the part after ``load_from_``.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device | Callable | dict, optional): As in
            ``torch.load``. Defaults to None.

    Returns:
        Any: The checkpoint.
    """
    return load_checkpoint_safely(filename, map_location)


def load_url_safely(url: str,
                    model_dir: str = None,
                    map_location=None,
                    progress: bool = True):
    """Download a checkpoint once, then load it weights-only.

    Replaces ``torch.hub.load_state_dict_from_url`` (which unpickles with
    ``weights_only=False``) inside mmengine; it uses the same cache file,
    ``<model_dir>/<file name in the URL>``.

    Args:
        url (str): URL of the checkpoint.
        model_dir (str, optional): Cache directory. Defaults to None, i.e.
            ``<torch.hub.get_dir()>/checkpoints``.
        map_location (str | torch.device | Callable | dict, optional): As in
            ``torch.load``. Defaults to None.
        progress (bool): Show a download progress bar. Defaults to True.

    Returns:
        Any: The checkpoint.

    Raises:
        UnsafeCheckpointError: If the file needs a global outside the
            allow-list; the message names the URL and the cached file.
    """
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached_file = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.isfile(cached_file):
        try:
            torch.hub.download_url_to_file(url, cached_file, progress=progress)
        except OSError as error:  # URLError and socket errors included
            raise OSError(
                f'Could not download {url} to {cached_file}: {error}. '
                'Offline, copy the file to that path (the torch hub cache: '
                '$TORCH_HOME/hub/checkpoints, TORCH_HOME defaults to '
                '~/.cache/torch), or point the config at a local copy (see '
                'docs/get_started.md, "Pretrained weights").') from error
    try:
        return load_checkpoint_safely(cached_file, map_location)
    except UnsafeCheckpointError as error:
        raise UnsafeCheckpointError(
            f'{error} It was downloaded from {url}.') from None


def load_from_openmmlab_safely(filename: str, map_location=None):
    """mmengine's ``open-mmlab://NAME`` loader, weights-only.

    ``NAME`` resolves as in mmengine: ``mmengine/hub/openmmlab.json``,
    updated by ``<mmengine home>/open_mmlab.json``, deprecated names
    renamed. A URL is fetched by mmengine's ``load_from_http`` (downloaded
    once into the torch hub cache, read by :func:`load_url_safely`), a path
    (relative to the mmengine home) read by :func:`load_checkpoint_safely`.

    Args:
        filename (str): ``open-mmlab://NAME`` or ``openmmlab://NAME``.
        map_location (str | torch.device | Callable | dict, optional): As in
            ``torch.load``. Defaults to None.

    Returns:
        Any: The checkpoint.

    Raises:
        ValueError: If ``NAME`` is in neither file.
    """
    scheme, name = filename.split('://', 1)
    renamed = get_deprecated_model_names().get(name)
    if renamed is not None:
        print_log(
            f'{filename} is deprecated in favor of {scheme}://{renamed}',
            logger='current',
            level=logging.WARNING)
        name = renamed
    urls = get_external_models()
    if name not in urls:
        raise ValueError(
            f'Unknown checkpoint {filename}: {name!r} is not a name in '
            "mmengine's hub/openmmlab.json (nor in <mmengine home>/"
            'open_mmlab.json); for ResNet V1c use open-mmlab://resnet50_v1c '
            'or open-mmlab://resnet101_v1c')
    url = urls[name]
    if url.startswith(('http://', 'https://')):
        return mmengine_checkpoint.load_from_http(
            url, map_location=map_location)
    # mmengine resolves such paths against its home; no public accessor
    home = mmengine_checkpoint._get_mmengine_home()
    return load_checkpoint_safely(osp.join(home, url), map_location)


def allow_mmengine_checkpoints() -> None:
    """Load mmengine checkpoints weights-only; refuse anything that runs code.

    Allow-lists ``HistoryBuffer`` (ignoring the statistics functions a
    pickle carries), numpy arrays, dtypes and scalars, a ``getattr`` that
    resolves only ``HistoryBuffer.{min,max,current,mean}`` and a ``bytes``
    that builds only ``b''``; pickles ``HistoryBuffer`` without those
    functions from now on; routes mmengine's local, URL and
    ``open-mmlab://`` checkpoint loading (``load_from``, ``resume``,
    ``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``) through
    :func:`load_checkpoint_safely`. Calling it again changes nothing.
    """
    torch.serialization.add_safe_globals(_mmengine_safe_globals())
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safely, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('open-mmlab://', 'openmmlab://'),
        loader=load_from_openmmlab_safely,
        force=True)
    # ``load_from_http``, which the torchvision:// and mmcls:// loaders and
    # ours for open-mmlab:// call, looks ``load_url`` up in its module.
    mmengine_checkpoint.load_url = load_url_safely
