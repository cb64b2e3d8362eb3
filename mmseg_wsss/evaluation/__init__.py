# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .metrics import CAMIoUMetric

__all__ = ['CAMIoUMetric']
