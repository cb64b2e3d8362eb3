# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .cam_segmentor import CAMSegmentor

__all__ = ['CAMSegmentor']
