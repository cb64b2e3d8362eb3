# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The third-party warnings a user can do nothing about are silenced, and
only those."""
import warnings

from mmseg_wsss.compat import (silence_pillow_alpha_warning,
                               silence_pkg_resources_warning)


def test_only_the_pkg_resources_deprecation_is_filtered():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        silence_pkg_resources_warning()
        warnings.warn(
            'pkg_resources is deprecated as an API. See https://setuptools.'
            'pypa.io/en/latest/pkg_resources.html.', UserWarning)
        warnings.warn('pkg_resources is slow', UserWarning)
        warnings.warn('pkg_resources is deprecated as an API',
                      DeprecationWarning)
    assert [(str(w.message), w.category) for w in caught] == [
        ('pkg_resources is slow', UserWarning),
        ('pkg_resources is deprecated as an API', DeprecationWarning)
    ]


def test_only_mmcvs_pillow_alpha_note_is_filtered():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        silence_pillow_alpha_warning()
        warnings.warn("Only use 'alpha' for pillow backend.", UserWarning)
        warnings.warn("Only use 'beta' for cv2 backend.", UserWarning)
    assert [str(w.message)
            for w in caught] == ["Only use 'beta' for cv2 backend."]
