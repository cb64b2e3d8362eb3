# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The real VOC path as the guides write it, command by command.

:data:`WALK` is the list that ``tests/test_tools/test_voc_guides.py`` runs
(on a miniature devkit + SBD, with toy networks) and that
``tests/test_docs.py`` finds, in this order, in the guides
(:data:`GUIDES`), so that the two cannot drift apart.
"""
import os.path as osp
import re
import shlex
from typing import List, NamedTuple, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the guides of the VOC path, in reading order
GUIDES = ('docs/get_started.md', 'docs/user_guides/1_train_test_seeds.md',
          'docs/user_guides/3_pseudo_labels.md',
          'docs/user_guides/4_irn_refinement.md',
          'docs/user_guides/5_second_stage.md')
DATA_ROOT = 'data/VOCdevkit/VOC2012'
SEG2 = 'deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-512x512'


class Step(NamedTuple):
    """A guide command; for a command the guide shows being refused,
    ``refused`` is a pattern its error must match."""
    command: str
    refused: Optional[str] = None


WALK = [
    Step('python tools/dataset_converters/voc_wsss.py data/VOCdevkit '
         'data/benchmark_RELEASE --nproc 8'),
    Step(f'python tools/train.py configs/wsss/cam_r50_voc.py --data-root '
         f'{DATA_ROOT}'),
    Step(f'python tools/train.py configs/wsss/rcm_mam_r50_voc.py --data-root '
         f'{DATA_ROOT} --cfg-options '
         'load_from=work_dirs/cam_r50_voc/iter_52920.pth'),
    Step('python tools/test.py configs/wsss/rcm_mam_r50_voc.py '
         'work_dirs/rcm_mam_r50_voc/iter_52920.pth --data-root '
         f'{DATA_ROOT} --fuse-conv-bn'),
    Step('python tools/make_pseudo_labels.py configs/wsss/rcm_mam_r50_voc.py '
         'work_dirs/rcm_mam_r50_voc/iter_52920.pth --data-root '
         f'{DATA_ROOT} --out work_dirs/pseudo_labels --crf'),
    Step('python tools/eval_pseudo_labels.py work_dirs/pseudo_labels '
         f'--data-root {DATA_ROOT} --split train'),
    # the same folder with another threshold: refused by its manifest
    Step(
        'python tools/make_pseudo_labels.py configs/wsss/rcm_mam_r50_voc.py '
        'work_dirs/rcm_mam_r50_voc/iter_52920.pth --data-root '
        f'{DATA_ROOT} --out work_dirs/pseudo_labels --crf --bg-thr 0.2',
        refused=r'bg_thr: [\d.]+ in the folder, 0.2 now'),
    Step('python tools/make_pseudo_labels.py configs/wsss/rcm_mam_r50_voc.py '
         'work_dirs/rcm_mam_r50_voc/iter_52920.pth --data-root '
         f'{DATA_ROOT} --out work_dirs/cams --save-cams --relation-labels '
         'work_dirs/relation_labels --conf-fg-thr 0.30 --conf-bg-thr 0.05'),
    Step('python tools/train.py configs/irn/irn_r50_voc.py --data-root '
         f'{DATA_ROOT} --cam-dir work_dirs/cams/cams --relation-dir '
         'work_dirs/relation_labels'),
    Step('python tools/test.py configs/irn/irn_r50_voc.py '
         f'work_dirs/irn_r50_voc/iter_990.pth --data-root {DATA_ROOT} '
         '--cam-dir work_dirs/cams/cams'),
    Step('python tools/make_refined_labels.py configs/irn/irn_r50_voc.py '
         f'work_dirs/irn_r50_voc/iter_990.pth --data-root {DATA_ROOT} '
         '--cam-dir work_dirs/cams/cams --out work_dirs/refined_labels'),
    Step(f'python tools/train.py configs/deeplabv3plus/{SEG2}.py --data-root '
         f'{DATA_ROOT} --pseudo-labels work_dirs/refined_labels'),
    Step(f'python tools/test.py configs/deeplabv3plus/{SEG2}.py '
         f'work_dirs/{SEG2}/iter_40000.pth --data-root {DATA_ROOT} --tta'),
]


def shell_commands(markdown: str) -> List[str]:
    """The commands of a Markdown text's ``shell`` blocks, each on one
    line: comments dropped, continued lines joined, spaces collapsed."""
    commands = []
    for block in re.findall(r'```shell\n(.*?)```', markdown, re.S):
        joined = re.sub(r'\\\n', ' ', block)
        for line in joined.splitlines():
            line = line.split(
                ' #')[0] if not line.lstrip().startswith('#') else ''
            if line.strip():
                commands.append(' '.join(shlex.split(line)))
    return commands


def missing_commands(shown: List[str], walk: List[Step] = WALK) -> List[str]:
    """The commands of ``walk`` that ``shown`` lacks in that order (each
    looked for after the previous one found)."""
    missing, at = [], 0
    for step in walk:
        if step.command in shown[at:]:
            at = shown.index(step.command, at) + 1
        else:
            missing.append(step.command)
    return missing


def guide_commands() -> List[str]:
    """The shell commands of :data:`GUIDES`, in reading order."""
    commands = []
    for guide in GUIDES:
        with open(osp.join(REPO_ROOT, guide), encoding='utf-8') as f:
            commands += shell_commands(f.read())
    return commands
