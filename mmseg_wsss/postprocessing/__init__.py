# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .dense_crf import DenseCRF, bg_alpha_from_thr, crf_refine_cams, dense_crf

__all__ = ['DenseCRF', 'bg_alpha_from_thr', 'crf_refine_cams', 'dense_crf']
