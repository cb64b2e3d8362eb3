# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .cam import (cams_to_seg_logits, multiscale_cams, normalize_cams,
                  region_mask)
from .normalize import l2_normalize

__all__ = [
    'normalize_cams', 'region_mask', 'multiscale_cams', 'cams_to_seg_logits',
    'l2_normalize'
]
