# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .resnet_with_stem import ResNetWithStem
from .wide_resnet38 import (PreActBlock, PreActBottleneck, WideResNet38,
                            load_backbone_state)

__all__ = [
    'WideResNet38', 'PreActBlock', 'PreActBottleneck', 'load_backbone_state',
    'ResNetWithStem'
]
