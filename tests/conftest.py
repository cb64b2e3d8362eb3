# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Fixtures shared by all tests."""
import importlib.util
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def make_toy_voc():
    """``make_toy_voc(out_dir, seed=0, ...)`` of ``tools/misc/``.

    ``tools`` is not a package, so the script is imported from its path.
    """
    path = osp.join(REPO_ROOT, 'tools', 'misc', 'make_toy_voc.py')
    spec = importlib.util.spec_from_file_location('make_toy_voc', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_toy_voc


@pytest.fixture(scope='session')
def toy_voc(tmp_path_factory, make_toy_voc) -> str:
    """Path of the toy VOC data set (seed 0), generated once per session.

    Treat it as read-only: tests that break files make their own set.
    """
    out_dir = str(tmp_path_factory.mktemp('toy_voc'))
    make_toy_voc(out_dir, seed=0)
    return out_dir
