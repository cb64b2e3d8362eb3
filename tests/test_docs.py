# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The docs cannot drift from the code.

README.md, benchmarks/README.md and every page under docs/ are read as
text, and what they show a reader must exist:

- **paths**: every repository path they name (``configs/...``,
  ``tools/...``, ``mmseg_wsss/...``, ``benchmarks/...``, ``docs/...``,
  ``tests/...``, ``requirements/...``; ``tests/x.py::test_y`` also needs the
  test function; ``mmseg_wsss::x.py`` names ``configs/x.py``), every
  relative Markdown link, and the heading its ``#anchor`` points to;
- **class names**: a CamelCase name in backticks (two or more capitals and a
  lower-case letter: ``CAMSegmentor``, ``BF16AmpOptimWrapper``) must be in
  one of mmseg's registries (which reach mmengine's), or a class defined in
  ``mmseg_wsss``, or in ``EXTERNAL_CLASSES``, an allowlist of unregistered
  mmseg / mmengine / Python classes that is itself checked by import, or
  in ``OTHER_NAMES`` (not classes of the installed stack, each with why).
  A folder name is written with its slash (``SegmentationClass/``). A
  ``type='X'`` in the docs must be registered;
- **tool flags**: in a command (a shell block, joined at ``\\``-newlines, or
  a code span), every ``--flag`` after ``tools/X.py``, ``benchmarks/X.py``
  (or their bare names) and the ``tools/*.sh`` launchers must be an option
  string of that tool's argparse parser (taken from its ``parse_args()``,
  abbreviations not accepted); ``make T`` must be a Makefile target, and
  flags in ``VAR='...'`` must belong to the tool of T's recipe that reads
  ``$(VAR)``.

The VOC path's guides show, in order, every command that
``tests/test_tools/test_voc_guides.py`` walks (``voc_guide.WALK``), so the
walked commands and the documented ones are the same.

Code that names a doc page (error messages, comments, configs) is checked
too, so that moving a page fails here rather than in front of a user.
``test_a_doctored_snippet_fails`` feeds renamed paths, classes and flags to
the same checkers. Nothing is built; mmseg and the tools are imported.
"""
import argparse
import ast
import functools
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

import pytest
from voc_guide import WALK, guide_commands, missing_commands

REPO = Path(__file__).resolve().parents[1]
# the benchmarks' README is the docs' benchmarks page (docs/ links it)
DOC_FILES = [REPO / 'README.md', REPO / 'benchmarks' / 'README.md'] + \
    sorted((REPO / 'docs').rglob('*.md'))
# folders whose code may name doc pages
CODE_DIRS = ('mmseg_wsss', 'configs', 'tools', 'benchmarks', 'tests')

PATH_ROOTS = ('configs', 'tools', 'mmseg_wsss', 'benchmarks', 'docs', 'tests',
              'requirements')
# a repository path: not inside a URL or another path, ends before
# punctuation; a glob (``configs/toy/recam*``) is allowed
PATH_RE = re.compile(r'(?<![\w./:$-])((?:%s)/[\w./*-]*[\w*/])(::\w+)?' %
                     '|'.join(PATH_ROOTS))
SCOPED_CONFIG_RE = re.compile(r'mmseg_wsss::([\w./-]+\.py)')
LINK_RE = re.compile(r'\]\(([^)\s]+)\)')
FENCE_RE = re.compile(r'^```[^\n]*\n(.*?)^```', re.S | re.M)
SPAN_RE = re.compile(r'`([^`]+)`')
CAMEL_RE = re.compile(r'^([A-Z][A-Za-z0-9]*)(\(.*\))?$', re.S)
TYPE_RE = re.compile(r'''type\s*=\s*['"](\w+)['"]''')
TOOL_RE = re.compile(
    r'(?<![\w.-])((?:tools/(?:misc/|dataset_converters/)?|benchmarks/)?'
    r'\w+\.(?:py|sh))(?![\w])')
FLAG_RE = re.compile(r'(?<![\w=-])(--[A-Za-z][\w-]*)')
MAKE_RE = re.compile(r'(?<![\w./-])make\s+([\w-]+)((?:\s+\w+=(?:\'[^\']*\'|'
                     r'"[^"]*"|\S+))*)')
MAKE_VAR_RE = re.compile(r'''(\w+)=(?:'([^']*)'|"([^"]*)"|(\S+))''')
# command separators inside one (joined) shell line
SEPARATOR_RE = re.compile(r'&&|\|\||;|\|')
# the launchers pass their extra arguments on to a Python tool
LAUNCHERS = {
    'tools/dist_train.sh': 'tools/train.py',
    'tools/dist_test.sh': 'tools/test.py',
    'tools/slurm_train.sh': 'tools/train.py',
}

# Unregistered classes the docs may name, by module. Each is imported by
# ``test_external_classes_exist``, so a rename upstream fails too.
EXTERNAL_CLASSES = {
    'BaseSegmentor': 'mmseg.models.segmentors.base',
    'SegDataSample': 'mmseg.structures',
    'PixelData': 'mmengine.structures',
    'BaseModule': 'mmengine.model',
    'BaseMetric': 'mmengine.evaluator',
    'DictAction': 'mmengine.config',
    'ConfigDict': 'mmengine.config',
    'HistoryBuffer': 'mmengine.logging',
    'MessageHub': 'mmengine.logging',
    'ValueError': 'builtins',
    'FileNotFoundError': 'builtins',
    'FloatingPointError': 'builtins',
    'FlopCounterMode': 'torch.utils.flop_counter',
}
# CamelCase names in backticks that are no class of the installed stack.
OTHER_NAMES = {
    'PolyOptimizer': "PSA's optimizer (another repository, not installed)",
    'VmHWM': 'a field of /proc/self/status (peak resident memory)',
}


def without_fences(text: str) -> str:
    """``text`` with its fenced code blocks blanked out."""
    return FENCE_RE.sub('', text)


def code_spans(text: str) -> List[str]:
    """Inline code spans outside fenced blocks (they may span lines)."""
    return [
        s.replace('\n', ' ') for s in SPAN_RE.findall(without_fences(text))
    ]


def command_lines(text: str) -> List[str]:
    """What a reader may paste: each line of the fenced blocks, with
    backslash-newline continuations joined, and each inline code span."""
    lines = []
    for block in FENCE_RE.findall(text):
        lines += re.sub(r'\\\n', ' ', block).splitlines()
    return lines + code_spans(text)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return slug.replace(' ', '-')


def anchors_of(path: Path) -> Set[str]:
    """Anchors of the headings of a Markdown file (code blocks excluded)."""
    text = without_fences(path.read_text(encoding='utf-8'))
    return {
        github_anchor(m.group(1))
        for m in re.finditer(r'^#+\s+(.*)$', text, re.M)
    }


def check_paths(text: str, source: Path) -> List[str]:
    """Errors for repository paths and links of ``text`` that do not exist.

    Args:
        text (str): Markdown.
        source (Path): The file it comes from (relative links start there).

    Returns:
        list[str]: One message per missing path, link, anchor or test.
    """
    errors = []
    for match in PATH_RE.finditer(text):
        path, test = match.group(1).rstrip('.'), match.group(2)
        if text[match.end():match.end() + 1] == '<':
            # a template (``schedule_<method>_*.py``): its folder must exist
            path = path[:path.rfind('/') + 1]
        found = list(REPO.glob(path)) if '*' in path else \
            [REPO / path] if (REPO / path).exists() else []
        if not found:
            errors.append(f'{source.name}: no such path {path}')
        elif test and not re.search(rf'^def {test[2:]}\(',
                                    found[0].read_text(), re.M):
            errors.append(f'{source.name}: no test {path}{test}')
    for match in SCOPED_CONFIG_RE.finditer(text):
        if not (REPO / 'configs' / match.group(1)).is_file():
            errors.append(f'{source.name}: no config {match.group(0)}')
    for target in LINK_RE.findall(without_fences(text)):
        if re.match(r'[a-z]+:', target):
            continue
        file_part, _, anchor = target.partition('#')
        path = (source.parent / file_part).resolve() if file_part else source
        if not path.exists():
            errors.append(f'{source.name}: broken link {target}')
        elif anchor and path.suffix == '.md' and \
                anchor not in anchors_of(path):
            errors.append(f'{source.name}: no heading for {target}')
    return errors


@functools.lru_cache()
def known_class_names() -> Set[str]:
    """Classes defined in mmseg_wsss (by a scan of the source)."""
    names = set()
    for path in (REPO / 'mmseg_wsss').rglob('*.py'):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        names.update(
            node.name for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef))
    return names


@functools.lru_cache()
def registries() -> list:
    """Every registry of mmseg (each reaches mmengine's through its
    parent), after our components registered themselves."""
    import mmseg.registry as mmseg_registry
    from mmengine.registry import Registry

    import mmseg_wsss  # noqa: F401
    return [
        value for value in vars(mmseg_registry).values()
        if isinstance(value, Registry)
    ]


def is_registered(name: str) -> bool:
    """Whether ``name`` is in an mmseg (or mmengine) registry."""
    return any(registry.get(name) is not None for registry in registries())


def looks_like_class(name: str) -> bool:
    """CamelCase: two or more capitals and a lower-case letter."""
    return sum(c.isupper() for c in name) >= 2 and \
        any(c.islower() for c in name)


def check_classes(text: str, source: Path) -> List[str]:
    """Errors for class names of ``text`` that exist nowhere; see the
    module docstring for the rule."""
    errors = []
    for span in code_spans(text):
        match = CAMEL_RE.match(span.strip())
        if not match or not looks_like_class(match.group(1)):
            continue
        name = match.group(1)
        if not (name in EXTERNAL_CLASSES or name in OTHER_NAMES
                or name in known_class_names() or is_registered(name)):
            errors.append(f'{source.name}: unknown class {name}')
    for name in TYPE_RE.findall(text):
        if not is_registered(name):
            errors.append(f"{source.name}: type='{name}' is not registered")
    return errors


class _Parser(Exception):
    """Carries the parser a tool's ``parse_args()`` built."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__()
        self.parser = parser


def _raise_parser(self, *args, **kwargs):
    raise _Parser(self)


@functools.lru_cache()
def tool_options(tool: str) -> Set[str]:
    """Option strings of a tool's parser: its ``parse_args()`` is run with
    ``ArgumentParser.parse_args`` replaced by a function that hands the
    parser back (nothing is parsed or run)."""
    path = REPO / tool
    sys.path.insert(0, str(path.parent))  # a benchmark's ``import common``
    try:
        spec = importlib.util.spec_from_file_location(
            'doc_tool_' + re.sub(r'\W', '_', tool), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        original = argparse.ArgumentParser.parse_args
        argparse.ArgumentParser.parse_args = _raise_parser
        try:
            module.parse_args()
        except _Parser as captured:
            return set(captured.parser._option_string_actions)
        finally:
            argparse.ArgumentParser.parse_args = original
    finally:
        sys.path.remove(str(path.parent))
    raise AssertionError(f'{tool}: parse_args() built no parser')


def resolve_tool(name: str) -> Optional[str]:
    """The repository path of a tool named in a command (a script with a
    ``parse_args()``), or None."""
    if '/' in name:
        paths = [LAUNCHERS.get(name, name)]
    else:
        paths = [
            f'{folder}/{name}'
            for folder in ('tools', 'tools/misc', 'tools/dataset_converters')
        ]
        paths.append(f'benchmarks/{name}')
    for path in paths:
        if path.endswith('.py') and (REPO / path).is_file() and re.search(
                r'^def parse_args\(', (REPO / path).read_text(), re.M):
            return path
    return None


@functools.lru_cache()
def make_targets() -> Dict[str, str]:
    """Makefile targets and their recipes."""
    targets, current = {}, None
    for line in (REPO / 'Makefile').read_text().splitlines():
        match = re.match(r'^([\w.-]+):', line)
        if match:
            current = match.group(1)
            targets[current] = ''
        elif line.startswith('\t') and current:
            targets[current] += line + '\n'
    return targets


def check_flags(tool: str, args: str, where: str) -> List[str]:
    """Errors for the ``--flags`` of ``args`` that ``tool`` lacks."""
    options = tool_options(tool)
    return [
        f'{where}: {tool} has no option {flag}'
        for flag in FLAG_RE.findall(args) if flag not in options
    ]


def check_commands(text: str, source: Path) -> List[str]:
    """Errors for tool flags and make targets of the commands in ``text``."""
    errors = []
    for line in command_lines(text):
        for command in SEPARATOR_RE.split(line):
            errors += _check_command(command, source.name)
    return errors


def _check_command(command: str, where: str) -> List[str]:
    errors = []
    tools = [(m, resolve_tool(m.group(1))) for m in TOOL_RE.finditer(command)]
    tools = [(m, tool) for m, tool in tools if tool is not None]
    for i, (match, tool) in enumerate(tools):
        end = tools[i + 1][0].start() if i + 1 < len(tools) else None
        if tool.endswith('.py'):
            errors += check_flags(tool, command[match.end():end], where)
    for match in MAKE_RE.finditer(command):
        target = match.group(1)
        recipe = make_targets().get(target)
        if recipe is None:
            errors.append(f'{where}: the Makefile has no target {target}')
            continue
        for var in MAKE_VAR_RE.finditer(match.group(2)):
            value = next(v for v in var.groups()[1:] if v is not None)
            used = [
                line for line in recipe.split('\n\t')
                if f'$({var.group(1)})' in line
            ]
            tool = re.search(r'tools/[\w/]+\.py', recipe) if used else None
            if tool is None:
                errors.append(f'{where}: make {target} does not read '
                              f'{var.group(1)}')
            else:
                errors += check_flags(tool.group(0), value, where)
    return errors


def doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize('doc', DOC_FILES, ids=doc_id)
def test_named_paths_and_links_exist(doc):
    assert check_paths(doc.read_text(encoding='utf-8'), doc) == []


@pytest.mark.parametrize('doc', DOC_FILES, ids=doc_id)
def test_named_classes_exist(doc):
    assert check_classes(doc.read_text(encoding='utf-8'), doc) == []


@pytest.mark.parametrize('doc', DOC_FILES, ids=doc_id)
def test_shown_commands_use_existing_flags_and_targets(doc):
    assert check_commands(doc.read_text(encoding='utf-8'), doc) == []


def test_code_names_existing_doc_pages():
    errors = []
    for folder in CODE_DIRS:
        for path in (REPO / folder).rglob('*.py'):
            if path.name == Path(__file__).name:
                continue
            for match in PATH_RE.finditer(path.read_text(encoding='utf-8')):
                name = match.group(1).rstrip('.')
                if name.startswith('docs/') and not (REPO / name).exists():
                    errors.append(f'{path.relative_to(REPO)}: {name}')
    assert errors == []


def test_guides_show_the_walked_voc_commands():
    assert missing_commands(guide_commands()) == []
    # a guide that changes a walked command fails
    shown = [' '.join(step.command.split()) for step in WALK]
    doctored = shown[:3] + [shown[3].replace('--data-root', '--data')]
    assert missing_commands(shown) == []
    assert missing_commands(doctored + shown[4:]) == [WALK[3].command]
    # so does one that shows them in another order
    assert missing_commands(shown[1:] +
                            shown[:1]) == [step.command for step in WALK[1:]]


def test_external_classes_exist():
    for name, module in EXTERNAL_CLASSES.items():
        assert isinstance(
            getattr(importlib.import_module(module), name), type), name
        assert name not in known_class_names(), \
            f'{name} is ours: leave it out of EXTERNAL_CLASSES'


def test_readme_is_short_and_lists_every_page():
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    assert len(readme.splitlines()) <= 150
    linked = {(REPO / target.partition('#')[0]).resolve()
              for target in LINK_RE.findall(readme)}
    pages = set(DOC_FILES) - {REPO / 'README.md'}
    assert pages <= linked, sorted(map(doc_id, pages - linked))


# (what is renamed, the text as it should be, the same text doctored)
DOCTORED = [
    ('path', 'see `configs/wsss/cam_r50_voc.py`',
     'see `configs/wsss/cam_r50_voc_v2.py`'),
    ('glob', '`configs/toy/recam*`', '`configs/toy/recam_v2*`'),
    ('scoped config', "`_base_ = 'mmseg_wsss::wsss/rcm_mam_r50_voc.py'`",
     "`_base_ = 'mmseg_wsss::wsss/rcm_mam_r50.py'`"),
    ('test function', '`tests/test_configs.py::test_config_builds`',
     '`tests/test_configs.py::test_every_config_builds`'),
    ('link', '[get started](docs/get_started.md)',
     '[get started](docs/getting_started.md)'),
    ('anchor', '[weights](docs/get_started.md#pretrained-weights)',
     '[weights](docs/get_started.md#weights)'),
    ('class', 'the `CAMIoUMetric` metric', 'the `CAMMIoUMetric` metric'),
    ('class call', '`SkipExistingSampler(outputs=[...])`',
     '`SkippingSampler(outputs=[...])`'),
    ('type', "```python\nhead = dict(type='ReCAMHead')\n```",
     "```python\nhead = dict(type='RecamHead')\n```"),
    ('tool flag', '```shell\npython tools/train.py CONFIG \\\n    --amp\n```',
     '```shell\npython tools/train.py CONFIG \\\n    --mixed-precision\n```'),
    ('bench flag', '`python benchmarks/bench_ablation.py --recam-cfg-options '
     'a=1`', '`python benchmarks/bench_ablation.py --recam-options a=1`'),
    ('bare tool', 'run `make_pseudo_labels.py --save-cams`',
     'run `make_pseudo_labels.py --save-cam`'),
    ('launcher', '`tools/dist_test.sh CONFIG CKPT 2 --fuse-conv-bn`',
     '`tools/dist_test.sh CONFIG CKPT 2 --fuse-bn`'),
    ('make target', '`make demo`', '`make demos`'),
    ('make args', "`make demo DEMO_ARGS='--stage2-labels both'`",
     "`make demo DEMO_ARGS='--stage-2-labels both'`"),
]
CHECKERS = (check_paths, check_classes, check_commands)


@pytest.mark.parametrize(
    'good, bad', [d[1:] for d in DOCTORED], ids=[d[0] for d in DOCTORED])
def test_a_doctored_snippet_fails(good, bad):
    source = REPO / 'README.md'
    assert [e for check in CHECKERS for e in check(good, source)] == []
    assert [e for check in CHECKERS for e in check(bad, source)] != []
