# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The guides' VOC path, walked: every command of :data:`voc_guide.WALK`
in order, through the tools' ``main(argv)``, on a miniature VOC devkit +
SBD in their published layouts.

The commands are the guides' own (``tests/test_docs.py`` checks that the
guides show them); the walk changes only what makes it small: each VOC
config becomes its toy counterpart, each ``work_dirs/{config}/iter_N.pth``
the checkpoint that run wrote, and ``--cfg-options`` adds 2 training
iterations, a batch of 2, no validation and single-scale CAMs.
"""
import os
import os.path as osp
import re
import shlex

import numpy as np
import pytest
from mini_devkit import make_mini_devkit
from PIL import Image
from voc_guide import WALK

from mmseg_wsss.utils import read_split_names
from mmseg_wsss.utils.manifest import MANIFEST_FILE, read_manifest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# each VOC config of the guides -> the toy config that stands in for it
TOY = {
    'configs/wsss/cam_r50_voc.py':
    'configs/toy/cam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    'configs/wsss/rcm_mam_r50_voc.py':
    'configs/toy/rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py',
    'configs/irn/irn_r50_voc.py':
    'configs/irn/irn_r18-tiny_1xb8-300it_toyvoc-192x192.py',
    'configs/deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-pseudo-'
    '512x512.py':
    'configs/toy/deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py',
}
ITERS = 2
TRAIN_OPTIONS = [
    f'train_cfg.max_iters={ITERS}', f'param_scheduler.0.end={ITERS}',
    f'default_hooks.checkpoint.interval={ITERS}',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
    'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None'
]
CAM_OPTIONS = ['model.test_cfg.scales=[1.0]']
CAM_CONFIGS = [
    TOY[f'configs/wsss/{name}.py']
    for name in ('cam_r50_voc', 'rcm_mam_r50_voc')
]


def _name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def _toy_argv(argv):
    """The walk's arguments for a guide command's: toy configs, the
    checkpoints the walk wrote, the small settings."""
    out = []
    for arg in argv:
        match = re.fullmatch(r'(load_from=)?work_dirs/([^/]+)/iter_\d+\.pth',
                             arg)
        if arg in TOY:
            arg = osp.join(REPO_ROOT, TOY[arg])
        elif match:
            voc = next(c for c in TOY if _name(c) == match[2])
            with open(
                    osp.join('work_dirs', _name(TOY[voc]),
                             'last_checkpoint')) as f:
                arg = (match[1] or '') + f.read().strip()
        out.append(arg)
    return out


def _small(tool, argv, toy_config):
    """The options that keep the walk small, added to the command's."""
    options = []
    if toy_config and tool == 'train':
        options += TRAIN_OPTIONS
    if toy_config in CAM_CONFIGS:
        options += CAM_OPTIONS
    if not options:
        return argv
    if '--cfg-options' in argv:
        at = argv.index('--cfg-options') + 1
        return argv[:at] + options + argv[at:]
    return argv + ['--cfg-options'] + options


def _names(split):
    return read_split_names(
        f'data/VOCdevkit/VOC2012/ImageSets/Segmentation/{split}.txt')


def _pngs(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('.png'))


def test_walk_the_voc_guides(tmp_path, monkeypatch, load_tool, capsys):
    os.makedirs(tmp_path / 'data')
    truth = make_mini_devkit(tmp_path / 'data').truth
    monkeypatch.chdir(tmp_path)
    results, argvs = [], {}
    for step in WALK:
        argv = shlex.split(step.command)
        assert argv[0] == 'python' and argv[1].startswith('tools/')
        tool = argv[1][len('tools/'):-len('.py')]
        toy_config = TOY.get(argv[2], '')
        args = _small(tool, _toy_argv(argv[2:]), toy_config)
        main = load_tool(tool).main
        argvs[step.command] = (tool, args)
        if step.refused is None:
            results.append((step.command, main(args)))
            continue
        with pytest.raises(ValueError) as err:
            main(args)
        assert re.search(step.refused, str(err.value)), str(err.value)
        assert '--overwrite' in str(err.value)
        results.append((step.command, None))

    # the converter's split, and each export: one file per image, and the
    # manifest of what made them
    train_aug = _names('train_aug')
    assert train_aug == truth.train_aug
    pngs = sorted(n + '.png' for n in train_aug)
    for folder in ('pseudo_labels', 'cams', 'relation_labels',
                   'refined_labels'):
        assert _pngs(f'work_dirs/{folder}') == pngs, folder
        assert read_manifest(f'work_dirs/{folder}')['splits'] == ['train_aug']
    assert sorted(os.listdir('work_dirs/cams/cams')) == sorted(
        [MANIFEST_FILE] + [n + '.npz' for n in train_aug])
    crf = read_manifest('work_dirs/pseudo_labels')['settings']
    assert crf['crf'] == dict(bg_thr=crf['bg_thr'])
    assert read_manifest('work_dirs/cams')['settings']['crf'] is None
    refined = read_manifest('work_dirs/refined_labels')['settings']
    # the refined labels name the CAMs they walked
    assert refined['cams'] == read_manifest('work_dirs/cams/cams')['settings']
    assert refined['test_cfg']['bg_thr'] == 0.25  # the IRN recipe's
    for name in train_aug:
        with Image.open(f'work_dirs/refined_labels/{name}.png') as png:
            labels = set(np.unique(png).tolist()) - {0, 255}
        assert labels <= set(np.flatnonzero(truth.labels[name]) + 1), name

    # a rerun of the refined export resumes: every image is done
    tool, args = next(argvs[c] for c in argvs
                      if c.startswith('python tools/make_refined_labels.py'))
    capsys.readouterr()
    load_tool(tool).main(args)
    assert f'0 images written, {len(train_aug)} skipped' in \
        capsys.readouterr().out

    metrics = dict(results)
    # the IRN test scores as the pipeline does: the sweep's best and the
    # recipe's fixed threshold
    irn = next(m for c, m in results if c.startswith('python tools/test.py '
                                                     'configs/irn/'))
    assert 0 <= irn['mIoU'] <= 100 and 'best_bg_thr' in irn
    assert irn['fixed_bg_thr'] == 0.25 and irn['fixed_mIoU'] <= irn['mIoU']
    seg = metrics[WALK[-1].command]
    assert 0 <= seg['mIoU'] <= 100
