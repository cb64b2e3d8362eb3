# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .skip_existing_sampler import SkipExistingSampler

__all__ = ['SkipExistingSampler']
