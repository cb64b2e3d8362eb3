# Copyright (c) mmseg-wsss contributors. All rights reserved.
import logging

import pytest
from mmengine.logging import MMLogger


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def mm_log():
    """Records of mmengine's current logger (``print_log(logger='current')``)
    during the test, as a list of ``logging.LogRecord``."""
    logger = MMLogger.get_current_instance()
    handler = _Records()
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
