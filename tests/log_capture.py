# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Capture what mmengine's current logger records during a block."""
import contextlib
import logging
from typing import Iterator, List

from mmengine.logging import MMLogger


@contextlib.contextmanager
def current_log_records() -> Iterator[List[logging.LogRecord]]:
    """``with current_log_records() as records:``: the records of
    ``print_log(logger='current')`` and mmengine's own lines in the block."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
