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
"""
import importlib.util
import os.path as osp
import sys
import types

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

    return type(name, (), {'__new__': _fail, '__call__': _fail,
                           '__module__': 'mmcv.ops'})


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

    ops = _LiteOpsModule('mmcv.ops', 'mmcv-lite stand-in (see mmseg_wsss.compat)')
    ops.point_sample = point_sample_mod.point_sample
    ops.bilinear_grid_sample = point_sample_mod.bilinear_grid_sample
    sys.modules['mmcv.ops.point_sample'] = point_sample_mod
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    return True
