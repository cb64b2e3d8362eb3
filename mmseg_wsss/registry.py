# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The ``mmseg_wsss`` scope: ``_base_ = 'mmseg_wsss::...'`` in other
projects' configs.

mmengine resolves ``package::path`` only for the packages in its
``MODULE2PACKAGE`` table, to ``<package dir>/.mim/configs/path`` (our
``configs/``, shipped as package data). The value given here is a module of
ours rather than the distribution name: mmengine then finds the package
directory through the import system, which also works for editable installs
(where the distribution's location holds no package directory).

An inherited config gives its objects the scope of its package
(``_scope_='mmseg_wsss'``), and mmengine builds them from the registries of
that scope. mmseg-wsss registers everything into mmseg's registries; the
children of them below, with scope ``mmseg_wsss``, hold nothing and pass
every look-up on to mmseg (and through it to mmengine), so such objects are
built as in mmseg's scope.
"""
import mmseg.registry as mmseg_registry
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import Registry

SCOPE = 'mmseg_wsss'

MODULE2PACKAGE.setdefault(SCOPE, 'mmseg_wsss.version')

# One child per mmseg registry (MODELS, DATASETS, HOOKS, ...), same names;
# importing the package (the location) registers our modules into mmseg's.
globals().update({
    name:
    Registry(parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])
    for name, parent in vars(mmseg_registry).items()
    if isinstance(parent, Registry)
})
