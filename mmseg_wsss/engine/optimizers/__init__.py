# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .main_net_optim_wrapper_constructor import MainNetOptimWrapperConstructor

__all__ = ['MainNetOptimWrapperConstructor']
