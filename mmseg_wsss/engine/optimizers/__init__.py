# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .bf16_amp_optim_wrapper import BF16AmpOptimWrapper
from .main_net_optim_wrapper_constructor import MainNetOptimWrapperConstructor

__all__ = ['BF16AmpOptimWrapper', 'MainNetOptimWrapperConstructor']
