# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""FLOPs of whatever a function runs: a cost that holds on any machine.

Seconds depend on the machine and its load; the FLOPs of a training step
do not, so the benchmarks report both and their ratio.

The counter is torch's own ``torch.utils.flop_counter.FlopCounterMode``: a
dispatch mode that sees every aten op the function runs, the backward pass
included, and counts the matrix products and convolutions (a multiply-add
is 2 FLOPs; a convolution's backward counts its input and weight gradients).
Element-wise ops, pooling, interpolation and normalisation count 0: they
are memory-bound, a small share of a CNN's FLOPs. mmengine's
``get_model_complexity_info`` (fvcore's counter) does not serve here: it
traces a module's forward with given input shapes, not a training step's
backward, optimizer and the extra passes a segmentor's ``loss`` makes.
"""
from typing import Any, Callable, Tuple

from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[..., Any], *args, **kwargs) -> Tuple[int, Any]:
    """FLOPs of ``fn(*args, **kwargs)``, and what it returned.

    Everything the call runs is counted, in any module: a training step
    counts its forward passes, its backward and its optimizer step.

    Returns:
        tuple[int, Any]: The FLOPs and the function's result.
    """
    with FlopCounterMode(display=False) as counter:
        result = fn(*args, **kwargs)
    return counter.get_total_flops(), result


def flop_efficiency(seconds: float, base_seconds: float, flops: float,
                    base_flops: float) -> float:
    """Measured time ratio over FLOP ratio, against a baseline.

    1.0: the work beyond the baseline's runs at the baseline's FLOPs per
    second; 1.4: it takes 40% longer than its FLOPs predict.
    """
    return (seconds / base_seconds) / (flops / base_flops)
