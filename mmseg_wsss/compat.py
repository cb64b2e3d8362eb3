# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Adapters to the installed OpenMMLab stack, each with its exit condition.

Only workarounds for defects of pinned third-party versions live here; each
is applied by ``import mmseg_wsss`` (see the package docstring) and is a
no-op where the defect is absent.

mmcv-lite (delete when mmseg stops importing ``mmcv.ops`` unguarded or
mmcv-lite ships it): mmsegmentation 1.2.2 imports ``mmcv.ops`` in four
modules (``utils/mask_classification.py``, ``models/utils/point_sample.py``,
``decode_heads/san_head.py``, ``losses/focal_loss.py``), but mmcv-lite ships
``mmcv/ops`` without its compiled ``mmcv._ext``, so ``import mmseg.models``
fails. When (and only when) ``mmcv._ext`` is absent, :func:`patch_mmcv_ops`
registers a stand-in ``mmcv.ops`` that serves mmcv's own pure-PyTorch
``point_sample`` and turns every compiled op into a clear error at call time.

mmcv-lite's import warning (delete with mmcv-lite, or when mmcv stops
warning at import): ``mmcv/cnn/bricks/transformer.py`` warns "Fail to import
``MultiScaleDeformableAttention``" when it is imported without the compiled
ops, i.e. by every mmseg import and so by every command, ``--help``
included, though nothing of mmseg-wsss uses that op (a config that does
gets the stand-in's clear error). :func:`import_mmcv_transformer_quietly`
imports that module once with exactly this warning filtered.

setuptools' pkg_resources warning (delete when mmengine stops importing
pkg_resources): mmengine 0.10.7 imports, and on every ``mmseg::`` config base
reloads, ``pkg_resources`` (``mmengine/utils/package_utils.py``), which
warns "pkg_resources is deprecated as an API" each time; the advice it gives
(pin setuptools<81) is what ``requirements/runtime.txt`` already does.
:func:`silence_pkg_resources_warning` filters exactly that message for the
process: a reload re-runs the warning, so a filter around one import would
not hold.

mmcv's pillow colour warning (delete when mmcv stops warning on every
pillow ``adjust_color``): mmcv 2.1.0's ``adjust_color`` warns "Only use
'alpha' for pillow backend" on every call with the pillow backend, which
mmpretrain's ``ColorJitter`` in our training pipelines uses with ``alpha``
alone, so every training command prints it and nothing is ignored.
:func:`silence_pillow_alpha_warning` filters exactly that message.

numpy 2 (delete with mmcv > 2.1.0, whose ``adjust_hue`` no longer casts a
negative number to ``np.uint8``): mmcv 2.1.0's ``adjust_hue`` computes
``np.uint8(hue_factor * 255)``, which numpy 2 rejects for negative factors,
so a colour jitter with a hue range fails on half of the images.
:func:`patch_mmcv_adjust_hue` replaces it (only when it fails) with the same
modular rotation of the hue channel.
"""
import importlib.util
import os.path as osp
import sys
import types
import warnings
from typing import Optional

import cv2
import numpy as np

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


def import_mmcv_transformer_quietly() -> bool:
    """Import ``mmcv.cnn.bricks.transformer`` without its mmcv-lite
    warning about ``MultiScaleDeformableAttention`` (a compiled op that
    mmcv-lite lacks), before mmseg imports it.

    Only that warning, only during this import; with full mmcv there is
    none to filter.

    Returns:
        bool: Whether the warning was filtered (mmcv-lite).
    """
    if has_compiled_mmcv_ops():
        return False
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore',
            message='Fail to import ``MultiScaleDeformableAttention``',
            category=UserWarning)
        import mmcv.cnn.bricks.transformer  # noqa: F401
    return True


def silence_pkg_resources_warning() -> None:
    """Filter setuptools' "pkg_resources is deprecated as an API" warning,
    which mmengine triggers on every ``mmseg::`` config (see the module
    docstring); other warnings are untouched."""
    warnings.filterwarnings(
        'ignore',
        message='pkg_resources is deprecated as an API',
        category=UserWarning)


def silence_pillow_alpha_warning() -> None:
    """Filter mmcv's "Only use 'alpha' for pillow backend" warning (see the
    module docstring); other warnings are untouched."""
    warnings.filterwarnings(
        'ignore',
        message="Only use 'alpha' for pillow backend",
        category=UserWarning)


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
