# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The one place that adapts mmseg-wsss to the installed OpenMMLab stack.

mmcv-lite: mmsegmentation 1.2.2 imports ``mmcv.ops`` unguarded in four modules
(``utils/mask_classification.py``, ``models/utils/point_sample.py``,
``decode_heads/san_head.py``, ``losses/focal_loss.py``), but mmcv-lite ships
``mmcv/ops`` without its compiled ``mmcv._ext``, so ``import mmseg.models``
fails. When (and only when) ``mmcv._ext`` is absent, :func:`patch_mmcv_ops`
registers a stand-in ``mmcv.ops`` that serves mmcv's own pure-PyTorch
``point_sample`` and turns every compiled op into a clear error at call time.
With full mmcv installed nothing is changed.

Checkpoints: torch >= 2.6 loads with ``weights_only=True`` (tensors, plain
containers and allow-listed globals only), but mmengine 0.10.7 checkpoints
also hold ``HistoryBuffer`` objects and numpy arrays and scalars (message hub,
metric results), so ``load_from``, ``resume`` and
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
- mmengine fetches URL checkpoints (``http(s)://``, ``open-mmlab://``,
  ``torchvision://``, ``mmcls://``) with
  ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` still
  defaults to False, and reads local files with torch's default, which
  ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` turns off. Both go through
  :func:`load_checkpoint_safely` instead, which also explains a refusal
  without suggesting to trust the file.

numpy 2: mmcv 2.1.0's ``adjust_hue`` computes ``np.uint8(hue_factor * 255)``,
which numpy 2 rejects for negative factors, so a colour jitter with a hue
range fails on half of the images. :func:`patch_mmcv_adjust_hue` replaces it
(only when it fails) with the same modular rotation of the hue channel.

CPU DDP: mmengine 0.10.7's ``launcher='pytorch'`` calls
``torch.cuda.set_device`` before ``init_process_group``, which current torch
refuses on a machine without a GPU, so gloo training on CPUs cannot start.
:func:`patch_mmengine_cpu_dist` skips that call only when CUDA is absent.
"""
import copyreg
import importlib.util
import logging
import os
import os.path as osp
import pickle
import sys
import types
from typing import Optional
from urllib.parse import urlparse

import cv2
import mmengine.runner.checkpoint as mmengine_checkpoint
import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

_FULL_MMCV_HINT = (
    'install full mmcv 2.1.0 instead of mmcv-lite (GPU wheels: '
    '`pip install -U openmim && mim install "mmcv==2.1.0"`; CPU: '
    '`MMCV_WITH_OPS=1 pip install "mmcv==2.1.0" --no-binary mmcv`)')


def has_compiled_mmcv_ops() -> bool:
    """Whether mmcv's compiled extension ``mmcv._ext`` is installed."""
    return importlib.util.find_spec('mmcv._ext') is not None


def _missing_op(name: str):
    """A placeholder for a compiled mmcv op that fails when used.

    It is a class so that ``isinstance`` checks and class-level imports keep
    working; instantiating or calling it raises.
    """

    def _fail(*args, **kwargs):
        raise RuntimeError(
            f'mmcv.ops.{name} needs the compiled mmcv extension, which '
            f'mmcv-lite does not have: {_FULL_MMCV_HINT}.')

    return type(name, (), {
        '__new__': _fail,
        '__call__': _fail,
        '__module__': 'mmcv.ops'
    })


class _LiteOpsModule(types.ModuleType):
    """``mmcv.ops`` for mmcv-lite: pure-PyTorch ops real, the rest errors."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        op = _missing_op(name)
        setattr(self, name, op)
        return op


def patch_mmcv_ops() -> bool:
    """Make ``mmcv.ops`` importable on mmcv-lite.

    Returns:
        bool: True if the stand-in was installed (mmcv-lite), False when full
        mmcv (or an earlier call) already provides ``mmcv.ops``.
    """
    if has_compiled_mmcv_ops() or isinstance(
            sys.modules.get('mmcv.ops'), _LiteOpsModule):
        return False
    import mmcv

    # ``mmcv/ops/point_sample.py`` depends on torch only; load it by path so
    # that ``mmcv/ops/__init__.py`` (which needs ``mmcv._ext``) never runs.
    ops_dir = osp.join(osp.dirname(mmcv.__file__), 'ops')
    spec = importlib.util.spec_from_file_location(
        'mmcv.ops.point_sample', osp.join(ops_dir, 'point_sample.py'))
    point_sample_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(point_sample_mod)

    ops = _LiteOpsModule('mmcv.ops',
                         'mmcv-lite stand-in (see mmseg_wsss.compat)')
    ops.point_sample = point_sample_mod.point_sample
    ops.bilinear_grid_sample = point_sample_mod.bilinear_grid_sample
    sys.modules['mmcv.ops.point_sample'] = point_sample_mod
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    return True


# The functions ``HistoryBuffer.__getstate__`` pickles, by attribute name.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
# Module paths numpy 1.x and 2.x pickle ``_reconstruct`` and ``scalar`` under;
# public checkpoints were mostly written with numpy 1.x.
_NUMPY_PICKLE_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')
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
    reconstruct = np.empty(0).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    safe_globals = [
        (_UnpickledHistoryBuffer,
         f'{HistoryBuffer.__module__}.{HistoryBuffer.__qualname__}'),
        (_history_buffer_statistic, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
    ]
    # A pickled dtype names only ``numpy.dtype``, but unpickling builds an
    # instance of its class (``Float64DType``...), which must be allowed too.
    safe_globals += sorted({type(np.dtype(c))
                            for c in _NUMPY_DTYPE_CHARS},
                           key=lambda cls: cls.__name__)
    for module in _NUMPY_PICKLE_MODULES:
        safe_globals += [(reconstruct, f'{module}._reconstruct'),
                         (scalar, f'{module}.scalar')]
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
            'and the mmengine/numpy types listed in mmseg_wsss.compat are '
            'loaded.')


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
        torch.hub.download_url_to_file(url, cached_file, progress=progress)
    try:
        return load_checkpoint_safely(cached_file, map_location)
    except UnsafeCheckpointError as error:
        raise UnsafeCheckpointError(
            f'{error} It was downloaded from {url}.') from None


def allow_mmengine_checkpoints() -> None:
    """Load mmengine checkpoints weights-only; refuse anything that runs code.

    Allow-lists ``HistoryBuffer`` (ignoring the statistics functions a
    pickle carries), numpy arrays, dtypes and scalars, and a ``getattr`` that
    resolves only ``HistoryBuffer.{min,max,current,mean}``; pickles
    ``HistoryBuffer`` without those functions from now on; routes
    mmengine's local and URL checkpoint loading (``load_from``, ``resume``,
    ``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``) through
    :func:`load_checkpoint_safely`. Calling it again changes nothing.
    """
    torch.serialization.add_safe_globals(_mmengine_safe_globals())
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safely, force=True)
    # ``load_from_http``, which the open-mmlab://, torchvision:// and mmcls://
    # loaders call directly, looks ``load_url`` up in its module.
    mmengine_checkpoint.load_url = load_url_safely


def _adjust_hue(img: np.ndarray,
                hue_factor: float,
                backend: Optional[str] = None) -> np.ndarray:
    """mmcv's ``adjust_hue`` with the hue shift taken modulo 256.

    mmcv 2.1.0 computes ``np.uint8(hue_factor * 255)``, which numpy 2
    rejects for negative factors (``OverflowError``), so every
    ``ColorJitter`` with ``hue > 0`` fails half of the time. The shift is
    the same rotation of the hue channel as before.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    if img.ndim == 2:
        return img
    shift = np.uint8(int(hue_factor * 255) % 256)
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    with np.errstate(over='ignore'):
        hsv[..., 0] += shift
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


def patch_mmcv_adjust_hue() -> bool:
    """Replace mmcv's ``adjust_hue`` when it overflows under numpy 2.

    Returns:
        bool: Whether the replacement was installed.
    """
    import mmcv
    import mmcv.image
    import mmcv.image.photometric as photometric
    try:
        photometric.adjust_hue(np.zeros((1, 1, 3), np.uint8), -0.1)
        return False
    except OverflowError:
        pass
    for module in (mmcv, mmcv.image, photometric):
        module.adjust_hue = _adjust_hue
    return True


def patch_mmengine_cpu_dist() -> bool:
    """Let mmengine's ``pytorch`` launcher start on machines without CUDA.

    Returns:
        bool: Whether the CPU-aware initialiser was installed (no CUDA).
    """
    import mmengine.dist.utils as dist_utils
    if torch.cuda.is_available() or getattr(dist_utils._init_dist_pytorch,
                                            '_cpu_aware', False):
        return False
    gpu_init = dist_utils._init_dist_pytorch

    def init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
        if backend != 'gloo' or init_backend != 'torch':
            return gpu_init(backend, init_backend=init_backend, **kwargs)
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._cpu_aware = True
    dist_utils._init_dist_pytorch = init_dist_pytorch
    return True


def shutdown_distributed() -> None:
    """End a distributed job in step on every rank, then end the process.

    A no-op outside a distributed run. mmengine leaves the process group to
    the interpreter's exit. All ranks meet at a barrier and destroy their
    group; then the process exits at once (``os._exit(0)`` after flushing
    the logs and streams). With torch 2.14 and gloo on the CPU, a rank that
    went through the normal interpreter exit aborted in about 1 of 12 runs
    under load ("terminate called without an active exception", no Python
    frame left: a C++ thread still joinable when static objects are
    destroyed), and torchrun then failed a job that had finished. Only call
    it as the last statement of a tool.
    """
    from mmengine.dist import barrier, is_distributed
    if not is_distributed():
        return
    barrier()
    torch.distributed.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


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


def _atomic_local_put(self, obj: bytes, filepath) -> None:
    """``LocalBackend.put`` via :func:`write_file_atomically`.

    Targets that exist but are not regular files (``/dev/null``, a FIFO)
    cannot be replaced by a rename, so they are written in place.
    """
    filepath = str(filepath)
    if osp.exists(filepath) and not osp.isfile(filepath):
        with open(filepath, 'wb') as f:
            f.write(obj)
        return
    write_file_atomically(obj, filepath)


def _save_checkpoint_then_prune(self, runner, step: int, meta: dict) -> None:
    """``CheckpointHook._save_checkpoint_with_step``, saving before pruning.

    mmengine 0.10.7 removes the oldest kept checkpoint *before* writing the
    new one, so with ``max_keep_ckpts=1`` a crash while saving leaves no
    checkpoint and ``last_checkpoint`` naming a deleted file. Here the new
    checkpoint is written first, ``last_checkpoint`` is replaced atomically,
    and only then is the oldest checkpoint removed. The bookkeeping
    (``keep_ckpt_ids``, ``last_ckpt`` in the message hub) is mmengine's.
    """
    from mmengine.dist import is_main_process
    stale = None
    keep_ids = self.keep_ckpt_ids if self.max_keep_ckpts > 0 else None
    # the best-checkpoint path saves the same step a second time
    if keep_ids is not None and (not keep_ids or keep_ids[-1] != step):
        if len(keep_ids) == self.max_keep_ckpts:
            stale = keep_ids[0]
        keep_ids.append(step)  # a full deque drops ``stale`` here
        runner.message_hub.update_info('keep_ckpt_ids', list(keep_ids))
    filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir,
        filename,
        self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler,
        meta=meta,
        by_epoch=self.by_epoch,
        backend_args=self.backend_args,
        **self.args)
    if not is_main_process():
        return
    write_file_atomically(self.last_ckpt.encode(),
                          osp.join(runner.work_dir, 'last_checkpoint'))
    if stale is not None:
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(stale))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            # checkpoints saved by DeepSpeed are directories
            self.file_backend.rmtree(path)


def patch_mmengine_checkpoint_saving() -> bool:
    """Make mmengine's checkpoints survive a crash while they are saved.

    mmengine 0.10.7 writes checkpoints with ``LocalBackend.put``, which
    truncates the file first: a ``SIGKILL``, full disk or quota error while
    writing leaves a partial file, and the best-checkpoint path rewrites
    the very file ``last_checkpoint`` names. ``put`` is replaced by
    :func:`write_file_atomically` and ``CheckpointHook`` by
    :func:`_save_checkpoint_then_prune`, so the previous checkpoint and
    ``last_checkpoint`` stay loadable until a complete new one replaces
    them. Other storage backends (Petrel, HTTP...) are left alone.

    Returns:
        bool: Whether the patch was installed (False if already there).
    """
    from mmengine.fileio.backends import LocalBackend
    from mmengine.hooks import CheckpointHook
    if LocalBackend.put is _atomic_local_put:
        return False
    LocalBackend.put = _atomic_local_put
    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_then_prune
    return True
