# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .support_net_ema_hook import SupportNetEMAHook

__all__ = ['SupportNetEMAHook']
