# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .dense_crf import DenseCRF, bg_alpha_from_thr, crf_refine_cams, dense_crf
from .pseudo_label import pseudo_label
from .relation_labels import IRN_CRF, crf_label_map, relation_labels

__all__ = [
    'DenseCRF', 'bg_alpha_from_thr', 'crf_refine_cams', 'dense_crf', 'IRN_CRF',
    'crf_label_map', 'relation_labels', 'pseudo_label'
]
