# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .cam_formatting import PackCAMInputs
from .formatting import PackWSSSInputs
from .loading import LoadCAMFromFile
from .random_crop_or_pad import RandomCropOrPad

__all__ = [
    'PackWSSSInputs', 'LoadCAMFromFile', 'PackCAMInputs', 'RandomCropOrPad'
]
