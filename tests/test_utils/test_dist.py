# Copyright (c) mmseg-wsss contributors. All rights reserved.
import torch

from mmseg_wsss.utils import shutdown_distributed


def test_shutdown_distributed_without_a_process_group_does_nothing():
    # the tools call it unconditionally; two ranks are tested under torchrun
    # in tests/test_engine/test_distributed.py
    assert not torch.distributed.is_initialized()
    shutdown_distributed()
    assert not torch.distributed.is_initialized()
