# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .num_class_check_hook import NumClassCheckHook
from .prepare_for_inference_hook import PrepareForInferenceHook
from .self_sup_diagnostics_hook import SelfSupDiagnosticsHook
from .support_net_ema_hook import SupportNetEMAHook

__all__ = [
    'AtomicCheckpointHook', 'NumClassCheckHook', 'PrepareForInferenceHook',
    'SelfSupDiagnosticsHook', 'SupportNetEMAHook'
]
