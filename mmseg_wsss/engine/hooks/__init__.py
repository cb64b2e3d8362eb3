# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .prepare_for_inference_hook import PrepareForInferenceHook
from .support_net_ema_hook import SupportNetEMAHook

__all__ = ['PrepareForInferenceHook', 'SupportNetEMAHook']
