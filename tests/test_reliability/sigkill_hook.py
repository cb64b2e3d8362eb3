# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A hook that kills its own training process, imported by the training
subprocess of ``test_interrupted_training.py`` (``custom_imports``)."""
import os
import signal

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class SigkillAfterIterHook(Hook):
    """SIGKILL the process after training iteration ``after_iter`` (1-based).

    It runs after every other hook of that iteration (``CheckpointHook`` is
    'VERY_LOW'), so the kill lands between two iterations, deterministically,
    with no chance for Python to clean up.

    Args:
        after_iter (int): The iteration after which the process dies.
    """

    priority = 'LOWEST'

    def __init__(self, after_iter: int) -> None:
        self.after_iter = after_iter

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Kill the process after the chosen iteration."""
        if runner.iter + 1 == self.after_iter:
            os.kill(os.getpid(), signal.SIGKILL)
