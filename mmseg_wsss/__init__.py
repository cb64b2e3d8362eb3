# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""mmseg-wsss: weakly supervised semantic segmentation for MMSegmentation.

Every process-wide effect of ``import mmseg_wsss``, and where it comes from:

- Registrations: datasets, transforms, samplers, models, metrics and hooks
  into mmseg's registries (new class names only); the file backend
  ``local_atomic`` into mmengine's backend registry
  (:mod:`mmseg_wsss.utils.atomic_io`). Nothing uses them unless a config
  names them.
- Checkpoint safety (:func:`mmseg_wsss.utils.allow_mmengine_checkpoints`):
  mmengine's types added to torch's weights-only allow-list, a ``copyreg``
  reducer for ``HistoryBuffer``, mmengine's loader of local paths
  (``CheckpointLoader`` scheme ``''``) and its ``load_url`` routed through
  the weights-only loader.
- The registry scope ``mmseg_wsss`` (:mod:`mmseg_wsss.registry`): an entry
  in mmengine's ``MODULE2PACKAGE`` table and empty child registries of
  mmseg's, so that other projects' configs can inherit ours as
  ``_base_ = 'mmseg_wsss::toy/...'``.
- Stack adapters (:mod:`mmseg_wsss.compat`), each only where its defect is
  present: a stand-in ``mmcv.ops`` module (mmcv-lite), mmcv-lite's
  ``MultiScaleDeformableAttention`` import warning silenced at its one
  import, setuptools' ``pkg_resources`` deprecation warning (which
  mmengine re-triggers on every ``mmseg::`` config) filtered, mmcv's
  ``adjust_hue`` (numpy 2).

Not an import effect: starting gloo DDP on a machine without CUDA. The tools
and :func:`mmseg_wsss.apis.make_pseudo_labels` call
:func:`mmseg_wsss.utils.init_cpu_dist` before they build their runner.
"""
import mmcv
import mmengine
from mmengine.utils import digit_version

from .compat import (import_mmcv_transformer_quietly, patch_mmcv_adjust_hue,
                     patch_mmcv_ops, silence_pillow_alpha_warning,
                     silence_pkg_resources_warning)
from .version import __version__, version_info

MMCV_MIN, MMCV_MAX = '2.0.0rc4', '2.2.0'
MMENGINE_MIN, MMENGINE_MAX = '0.7.0', '1.0.0'

assert digit_version(MMCV_MIN) <= digit_version(mmcv.__version__) < \
    digit_version(MMCV_MAX), (
        f'mmcv=={mmcv.__version__} is used but incompatible with mmseg 1.2.2: '
        f'please install mmcv>={MMCV_MIN}, <{MMCV_MAX}.')
assert digit_version(MMENGINE_MIN) <= digit_version(mmengine.__version__) < \
    digit_version(MMENGINE_MAX), (
        f'mmengine=={mmengine.__version__} is used but incompatible: please '
        f'install mmengine>={MMENGINE_MIN}, <{MMENGINE_MAX}.')

patch_mmcv_ops()
# mmcv-lite's MultiScaleDeformableAttention warning, before mmseg imports
# mmcv.cnn.bricks.transformer and prints it on every command
import_mmcv_transformer_quietly()
silence_pkg_resources_warning()
silence_pillow_alpha_warning()
patch_mmcv_adjust_hue()

from . import registry  # noqa: E402,F401,I001
from .utils import allow_mmengine_checkpoints  # noqa: E402,I001

allow_mmengine_checkpoints()

from . import datasets, engine, evaluation, models  # noqa: E402,F401,I001

__all__ = ['__version__', 'version_info']
