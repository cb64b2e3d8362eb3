# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .cam_segmentor import CAMSegmentor
from .dense_crf_tta_model import DEEPLAB_CRF, DenseCRFSegTTAModel
from .dual_cam_segmentor import DualCAMSegmentor
from .irn_segmentor import IRNSegmentor
from .softmax_seg_tta_model import SoftmaxSegTTAModel

__all__ = [
    'CAMSegmentor', 'DualCAMSegmentor', 'IRNSegmentor', 'DenseCRFSegTTAModel',
    'DEEPLAB_CRF', 'SoftmaxSegTTAModel'
]
