# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .boundary_head import BoundaryHead
from .cam_head import CAMHead, stack_img_labels

__all__ = ['CAMHead', 'stack_img_labels', 'BoundaryHead']
