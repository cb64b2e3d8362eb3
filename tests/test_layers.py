# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Imports run one way: each layer of mmseg_wsss imports only layers below
it (or its own), so components never pull in the entry points."""
import ast
import os
import os.path as osp

import pytest

PACKAGE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'mmseg_wsss')
# bottom to top; the package __init__ wires everything and is not a layer
LAYERS = {
    'utils': 0,
    'compat': 0,
    'version': 0,
    'registry': 0,
    'models': 1,
    'datasets': 1,
    'evaluation': 1,
    'postprocessing': 1,
    'engine': 2,
    'visualization': 2,
    'apis': 3,
}


def _modules():
    """(dotted name, path) of every module below the package root."""
    for root, _, files in os.walk(PACKAGE):
        for fname in sorted(files):
            if fname.endswith('.py'):
                path = osp.join(root, fname)
                rel = osp.relpath(path, osp.dirname(PACKAGE))[:-3]
                name = rel.replace(os.sep, '.')
                if name != 'mmseg_wsss.__init__':
                    yield name, path


def _imported(name, path):
    """Absolute names of the mmseg_wsss modules ``path`` imports."""
    package = name.rsplit('.', 1)[0]
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                parent = parts[:len(parts) - node.level + 1]
                base = '.'.join(parent + ([base] if base else []))
            targets = [base]
        else:
            continue
        for target in targets:
            if target.split('.')[0] == 'mmseg_wsss' and target != 'mmseg_wsss':
                yield target


def _layer(module):
    return LAYERS[module.split('.')[1]]


@pytest.mark.parametrize('name,path', list(_modules()))
def test_imports_run_downwards(name, path):
    upward = [
        target for target in _imported(name, path)
        if _layer(target) > _layer(name)
    ]
    assert not upward, f'{name} imports higher layers: {upward}'


def test_the_layers_are_known():
    tops = {name.split('.')[1] for name, _ in _modules()}
    assert tops == set(LAYERS)
