# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The toy COCO 2014 (mmseg_wsss/datasets/toy_coco.py), raw and converted."""
import pytest

from mmseg_wsss.datasets.toy_coco import make_toy_coco


@pytest.fixture(scope='session')
def mini_coco(tmp_path_factory):
    """``(root, truth)`` of a toy COCO 2014, not converted; treat it
    as read-only."""
    root = str(tmp_path_factory.mktemp('mini_coco'))
    return root, make_toy_coco(root)


@pytest.fixture(scope='session')
def toy_coco(tmp_path_factory, load_tool):
    """``(root, truth)`` of a toy COCO 2014 converted in place by
    tools/misc/make_toy_coco.py (the data root of the toy COCO configs);
    treat it as read-only."""
    root = str(tmp_path_factory.mktemp('toy_coco'))
    # the truth of the set the tool converts: drawn first, the tool finds
    # the annotations and converts them
    truth = make_toy_coco(root)
    load_tool('misc/make_toy_coco').main([root])
    return root, truth
