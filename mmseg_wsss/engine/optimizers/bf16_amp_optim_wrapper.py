# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16AmpOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with bfloat16 autocast, CPU included.

    mmengine 0.10.7's ``AmpOptimWrapper`` refuses to be built without a
    GPU, NPU, MLU or MUSA device, although its ``autocast`` supports the CPU
    (bfloat16 only). This wrapper keeps everything else of it (the
    ``optim_context`` autocast, gradient accumulation, ``state_dict``) and
    runs on any device mmengine's ``autocast`` supports. bfloat16 has
    float32's exponent range, so gradients cannot underflow and are not
    scaled: the loss scaler is a disabled ``torch.amp.GradScaler`` (its
    ``scale``, ``unscale_``, ``step`` and ``update`` pass through, and a
    checkpoint's ``loss_scaler`` state, e.g. from an fp16 GPU run, is
    ignored on loading).

    ``tools/train.py --amp`` selects it when no accelerator is present and
    mmengine's ``AmpOptimWrapper`` (float16 by default) otherwise. In a
    config: ``optim_wrapper=dict(type='BF16AmpOptimWrapper', ...)``.

    Args:
        loss_scale (str | float | dict): Accepted for configs written for
            ``AmpOptimWrapper`` (``tools/train.py`` sets 'dynamic'); only
            'dynamic' is allowed and no scaling happens. Defaults to
            'dynamic'.
        dtype (str | torch.dtype): The autocast dtype; only bfloat16 is
            allowed. Defaults to 'bfloat16'.
        **kwargs: Arguments of ``OptimWrapper`` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(
                "BF16AmpOptimWrapper autocasts to bfloat16 only (mmengine's "
                f"CPU autocast allows nothing else), got dtype={dtype!r}; "
                "use type='AmpOptimWrapper' for float16 on a GPU")
        if loss_scale != 'dynamic':
            raise ValueError(
                'BF16AmpOptimWrapper does not scale the loss (bfloat16 '
                "needs no scaling): loss_scale must be 'dynamic', got "
                f'{loss_scale!r}')
        # AmpOptimWrapper.__init__ asserts an accelerator; what it would set
        # is set below instead.
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.cast_dtype = torch.bfloat16
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
