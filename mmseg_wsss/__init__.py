# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""mmseg-wsss: weakly supervised semantic segmentation for MMSegmentation."""
import mmcv
import mmengine
from mmengine.utils import digit_version

from .compat import (allow_mmengine_checkpoints, patch_mmcv_adjust_hue,
                     patch_mmcv_ops, patch_mmengine_checkpoint_saving,
                     patch_mmengine_cpu_dist)
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
patch_mmcv_adjust_hue()
allow_mmengine_checkpoints()
patch_mmengine_cpu_dist()
patch_mmengine_checkpoint_saving()

from . import datasets, engine, evaluation, models  # noqa: E402,F401,I001

__all__ = ['__version__', 'version_info']
