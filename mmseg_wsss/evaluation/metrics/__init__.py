# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .cam_iou_metric import CAMIoUMetric, parse_bg_thrs

__all__ = ['CAMIoUMetric', 'parse_bg_thrs']
