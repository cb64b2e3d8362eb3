# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The pre-commit hooks run the linters of `make lint`, pinned alike."""
import os.path as osp
import re

import yaml

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _read(name):
    with open(osp.join(REPO_ROOT, name)) as f:
        return f.read()


def test_pre_commit_hooks_are_the_make_lint_linters():
    makefile = _read('Makefile')
    lint = makefile.split('\nlint:')[1].split('\n\n')[0]
    linters = set(re.findall(r'\$\(BIN\)/(\w+)', lint))
    pins = dict(
        re.findall(r'^([\w-]+)==([\w.]+)$', _read('requirements/tests.txt'),
                   re.M))
    config = yaml.safe_load(_read('.pre-commit-config.yaml'))
    hooks = {
        hook['id']: repo['rev'].lstrip('v')
        for repo in config['repos']
        for hook in repo['hooks']
    }
    assert linters == {'flake8', 'isort', 'yapf', 'codespell'}
    assert hooks == {name: pins[name] for name in linters}
    paths = re.search(r'^LINT_PATHS := (.+)$', makefile, re.M)[1].split()
    assert all(re.match(config['files'], f'{p}/x.py') for p in paths)
