# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Reading output folders back, for byte-level comparisons in tests."""
import os
import os.path as osp
from typing import Dict


def read_files(folder: str) -> Dict[str, bytes]:
    """File name -> bytes of every file in ``folder``."""
    out = {}
    for fname in os.listdir(folder):
        with open(osp.join(folder, fname), 'rb') as f:
            out[fname] = f.read()
    return out
