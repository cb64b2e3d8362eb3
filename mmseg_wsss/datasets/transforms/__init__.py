# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .formatting import PackWSSSInputs

__all__ = ['PackWSSSInputs']
