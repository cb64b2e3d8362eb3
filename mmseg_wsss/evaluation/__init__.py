# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .metrics import CAMIoUMetric, PseudoLabelWriter

__all__ = ['CAMIoUMetric', 'PseudoLabelWriter']
