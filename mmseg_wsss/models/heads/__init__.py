# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .boundary_head import BoundaryHead
from .cam_head import CAMHead, stack_img_labels
from .deeplabv2_head import DeepLabV2Head, aspp_sum
from .mam_head import MAMHead, MAMTargets
from .rcm_head import (PROTO_BATCH, PROTO_MEMORY, PROTO_NONE, RCMHead,
                       RCMTargets)
from .recam_head import CAM_WEIGHTS, ReCAMHead

__all__ = [
    'CAMHead', 'stack_img_labels', 'MAMHead', 'MAMTargets', 'RCMHead',
    'RCMTargets', 'PROTO_NONE', 'PROTO_BATCH', 'PROTO_MEMORY', 'BoundaryHead',
    'ReCAMHead', 'CAM_WEIGHTS', 'DeepLabV2Head', 'aspp_sum'
]
