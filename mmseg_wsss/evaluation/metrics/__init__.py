# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .cam_iou_metric import CAMIoUMetric, parse_bg_thrs
from .pseudo_label_writer import (OUTPUT_KINDS, CAMOutput, CAMPrediction,
                                  LabelOutput, PseudoLabelWriter)

__all__ = [
    'CAMIoUMetric', 'parse_bg_thrs', 'PseudoLabelWriter', 'CAMPrediction',
    'LabelOutput', 'CAMOutput', 'OUTPUT_KINDS'
]
