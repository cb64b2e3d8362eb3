# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Fixtures shared by all tests."""
import importlib.util
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_toy_voc_tool():
    """Import ``tools/misc/make_toy_voc.py`` (``tools`` is no package)."""
    path = osp.join(REPO_ROOT, 'tools', 'misc', 'make_toy_voc.py')
    spec = importlib.util.spec_from_file_location('make_toy_voc', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def toy_voc(tmp_path_factory) -> str:
    """Path of the toy VOC data set (seed 0), generated once per session.

    Treat it as read-only: tests that need broken files copy it first.
    """
    out_dir = tmp_path_factory.mktemp('toy_voc')
    load_toy_voc_tool().make_toy_voc(str(out_dir), seed=0)
    return str(out_dir)
