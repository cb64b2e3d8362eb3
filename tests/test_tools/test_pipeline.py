# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""tools/run_pipeline.py end to end on the toy data, and its resumption."""
import importlib.util
import json
import math
import os
import os.path as osp
import re
import shutil

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from toy_subsets import link_toy_subset, toy_names

from mmseg_wsss.utils.manifest import MANIFEST_FILE
from mmseg_wsss.visualization import CAPTION_HEIGHT

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1 = osp.join(REPO_ROOT, 'configs', 'toy',
                  'rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
STAGE2 = osp.join(REPO_ROOT, 'configs', 'toy',
                  'deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py')


def _tool():
    path = osp.join(REPO_ROOT, 'tools', 'run_pipeline.py')
    spec = importlib.util.spec_from_file_location('run_pipeline', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _argv(data_root, work_dir):
    # --global-batch none: the small batches below stay as they are
    return [
        '--global-batch', 'none', STAGE1, STAGE2, '--work-dir',
        str(work_dir), '--data-root', data_root, '--num-pictures', '2',
        '--cfg-options-stage1', 'train_cfg.max_iters=6',
        'train_dataloader.batch_size=4', 'model.test_cfg.scales=[1.0,0.5]',
        'test_dataloader.dataset.indices=8', '--cfg-options-baseline',
        'train_cfg.max_iters=4', 'train_dataloader.batch_size=4',
        'model.test_cfg.scales=[1.0,0.5]', 'test_dataloader.dataset.indices=8',
        '--cfg-options-stage2', 'train_cfg.max_iters=4',
        'train_dataloader.batch_size=4', 'test_dataloader.dataset.indices=8'
    ]


@pytest.fixture(scope='module')
def small_voc(make_toy_voc, tmp_path_factory):
    """A toy set of 16 + 8 images: every step on real files, quickly."""
    root = str(tmp_path_factory.mktemp('pipeline_voc'))
    make_toy_voc(root, seed=0, num_train_aug=16, num_train=8, num_val=8)
    return root


@pytest.fixture(scope='module')
def pipeline_run(small_voc, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('pipeline')
    _tool().main(_argv(small_voc, work_dir))
    return work_dir


def _files(names, suffix):
    """An export folder's files: one per image, and its manifest."""
    return sorted([MANIFEST_FILE] + [name + suffix for name in names])


def _listing(folder):
    return sorted(os.listdir(folder))


def _report_mious(work_dir):
    with open(osp.join(work_dir, 'report.md')) as f:
        report = f.read()
    rows = re.findall(
        r'^\| (CAM, [^|]+|pseudo masks[^|]*|segmentation[^|]*) \| '
        r'\w+ \| ([^|]+) \|', report, re.M)
    # rows of steps that did not run say n/a
    return report, {
        name: float(value)
        for name, value in rows if value.strip() != 'n/a'
    }


def test_pipeline_writes_report_with_finite_mious(pipeline_run):
    report, mious = _report_mious(pipeline_run)
    difference = mious.pop('CAM, method - baseline')
    assert set(mious) == {
        'CAM, stage 1a (baseline)', 'CAM, stage 1 (method)',
        'pseudo masks, CAM', 'segmentation'
    }
    assert all(math.isfinite(v) and 0 <= v <= 100 for v in mious.values())
    assert difference == pytest.approx(
        mious['CAM, stage 1 (method)'] - mious['CAM, stage 1a (baseline)'],
        abs=0.01)
    assert 'best background threshold' in report
    for picture in ('cam_grid.png', 'val_predictions.png'):
        assert osp.getsize(osp.join(pipeline_run, picture)) > 0
        assert f']({picture})' in report
    # one pseudo label per train_aug image
    with open(
            osp.join(
                _report_data_root(report), 'ImageSets', 'Segmentation',
                'train_aug.txt')) as f:
        names = f.read().split()
    assert _listing(osp.join(pipeline_run,
                             'pseudo_labels')) == _files(names, '.png')


def test_stage_1b_starts_from_the_stage_1a_checkpoint(pipeline_run):
    with open(osp.join(pipeline_run, 'steps', 'train_baseline.json')) as f:
        baseline = json.load(f)
    with open(osp.join(pipeline_run, 'steps', 'train_cams.json')) as f:
        method = json.load(f)
    assert baseline['iters'] == 4 and method['iters'] == 6
    assert method['init_from'] == baseline['checkpoint']
    assert osp.dirname(baseline['checkpoint']) == osp.join(
        str(pipeline_run), 'stage1a')
    # mmengine loaded it into the method's runner
    logs = [
        osp.join(root, name)
        for root, _, names in os.walk(osp.join(pipeline_run, 'stage1'))
        for name in names if name.endswith('.log')
    ]
    text = ''.join(open(path).read() for path in logs)
    assert f'Load checkpoint from {baseline["checkpoint"]}' in text


def _report_data_root(report):
    return re.search(r'^- data: `([^`]+)`', report, re.M).group(1)


def test_rerun_redoes_only_the_deleted_step(pipeline_run, small_voc, capsys):
    steps_dir = osp.join(pipeline_run, 'steps')
    before = {
        f: os.stat(osp.join(steps_dir, f)).st_mtime_ns
        for f in os.listdir(steps_dir)
    }
    os.remove(osp.join(steps_dir, 'eval_seg.json'))
    capsys.readouterr()
    _tool().main(_argv(small_voc, pipeline_run))
    after = {
        f: os.stat(osp.join(steps_dir, f)).st_mtime_ns
        for f in os.listdir(steps_dir)
    }
    assert set(after) == set(before)
    changed = {f for f in after if after[f] != before.get(f)}
    assert changed == {'eval_seg.json'}
    _, mious = _report_mious(pipeline_run)
    assert math.isfinite(mious['segmentation'])


IRN = osp.join(REPO_ROOT, 'configs', 'irn',
               'irn_r18-tiny_1xb8-300it_toyvoc-192x192.py')


@pytest.fixture(scope='module')
def eight_root(toy_voc, tmp_path_factory):
    """The toy set with 8 images in train_aug, the first 4 of them in
    train, 4 in val: the refinement steps on few images."""
    names = toy_names(toy_voc, 'train', 8)
    root = link_toy_subset(
        toy_voc,
        tmp_path_factory.mktemp('eight_voc'),
        # stage 2 validates at its end
        dict(
            train_aug=names, train=names[:4], val=toy_names(toy_voc, 'val',
                                                            4)))
    return root, names


def test_refinement_steps_end_to_end(pipeline_run, eight_root,
                                     tmp_path_factory):
    root, names = eight_root
    work_dir = tmp_path_factory.mktemp('pipeline_irn')
    # stage 1 comes from the pipeline above: its finished steps' results
    os.makedirs(work_dir / 'steps')
    for step in ('train_cams', 'eval_cams'):
        shutil.copy(
            osp.join(pipeline_run, 'steps', f'{step}.json'),
            work_dir / 'steps')
    _tool().main([
        '--global-batch', 'none', STAGE1, STAGE2, '--work-dir',
        str(work_dir), '--data-root', root, '--no-baseline', '--crf',
        '--irn-config', IRN, '--steps', 'pseudo_labels', 'eval_pseudo_labels',
        'relation_labels', 'train_irn', 'eval_refined', 'refined_labels',
        'train_seg', 'eval_seg', 'train_seg_cam', 'eval_seg_cam', 'pictures',
        '--stage2-labels', 'both', '--num-pictures', '2',
        '--cfg-options-stage1', 'model.test_cfg.scales=[1.0]',
        '--cfg-options-irn', 'train_cfg.max_iters=3',
        'train_dataloader.batch_size=4', '--cfg-options-stage2',
        'train_cfg.max_iters=2', 'train_dataloader.batch_size=4'
    ])
    for folder in ('relation_labels', 'refined_labels', 'pseudo_labels',
                   'pseudo_labels_plain'):
        assert _listing(work_dir / folder) == _files(names, '.png'), folder
    assert _listing(work_dir / 'cams') == _files(names, '.npz')
    for name in names:
        with Image.open(work_dir / 'relation_labels' / f'{name}.png') as png:
            assert set(np.unique(png)) <= set(range(21)) | {255}
        with Image.open(work_dir / 'refined_labels' / f'{name}.png') as png:
            assert set(np.unique(png)) <= set(range(21))
    train_irn = json.load(open(work_dir / 'steps' / 'train_irn.json'))
    assert train_irn['iters'] == 3
    # --crf: the stage-2 labels are the walk's after a CRF
    refined = json.load(open(work_dir / 'steps' / 'refined_labels.json'))
    assert refined['crf'] is True
    # the refined masks are exported at the IRN recipe's threshold, which
    # step 9 scored next to the sweep's best; no ground truth chose it
    swept = json.load(open(work_dir / 'steps' / 'eval_refined.json'))
    irn_thr = Config.fromfile(IRN).model.test_cfg.bg_thr
    assert refined['bg_thr'] == swept['fixed_bg_thr'] == irn_thr
    assert refined['bg_thr_tuned_on_gt'] is False
    assert 0 <= swept['fixed_mIoU'] <= swept['mIoU']
    assert 'no ground-truth mask used' in open(work_dir / 'report.md').read()
    assert 0 < swept['best_bg_thr'] < 1 and 'mIoU' in swept['crf']
    assert train_irn['init_from'] == json.load(
        open(work_dir / 'steps' / 'train_cams.json'))['checkpoint']
    report, mious = _report_mious(work_dir)
    rows = ('pseudo masks, CAM', 'pseudo masks, CAM+CRF',
            'pseudo masks, refined (IRN)', 'pseudo masks, refined (IRN)+CRF')
    assert all(math.isfinite(mious[row]) for row in rows)
    assert 'trained on the refined pseudo masks' in report
    # stage 2 read the refined masks
    seg_logs = ''.join(
        open(osp.join(r, n)).read()
        for r, _, ns in os.walk(work_dir / 'stage2') for n in ns
        if n.endswith('.py'))
    assert str(work_dir / 'refined_labels') in seg_logs
    # --stage2-labels both: a second stage 2 read the CAM masks
    cam_logs = ''.join(
        open(osp.join(r, n)).read()
        for r, _, ns in os.walk(work_dir / 'stage2cam') for n in ns
        if n.endswith('.py'))
    assert str(work_dir / 'pseudo_labels') in cam_logs
    assert math.isfinite(mious['segmentation, refined - CAM masks'])
    # the CAM grid has the IRN's boundary and refined columns: image, 3
    # CAMs, GT, pseudo label, boundary, refined; 160 px cells
    grid = mmcv.imread(str(work_dir / 'cam_grid.png'))
    assert grid.shape[:2] == (2 * (160 + CAPTION_HEIGHT), 8 * 160)
    assert 'IRN boundary map, refined mask' in report


RECAM = osp.join(REPO_ROOT, 'configs', 'toy',
                 'recam_r18-tiny_1xb8-300it_toyvoc-96x96.py')


def test_recam_runs_through_the_pipeline_export_and_irn(
        eight_root, tmp_path_factory):
    root, names = eight_root
    work_dir = tmp_path_factory.mktemp('pipeline_recam')
    short = ['train_cfg.max_iters=2', 'train_dataloader.batch_size=4']
    _tool().main([
        '--global-batch', 'none', RECAM, STAGE2, '--work-dir',
        str(work_dir), '--data-root', root, '--irn-config', IRN, '--steps',
        'train_baseline', 'train_cams', 'eval_cams', 'pseudo_labels',
        'relation_labels', 'train_irn', 'eval_refined',
        '--cfg-options-baseline'
    ] + short + ['--cfg-options-stage1', 'model.test_cfg.scales=[1.0]'] +
                 short + ['--cfg-options-irn'] + short)
    steps = work_dir / 'steps'
    baseline = json.load(open(steps / 'train_baseline.json'))
    recam = json.load(open(steps / 'train_cams.json'))
    # staged: ReCAM starts from the stage-1a checkpoint of baseline_config
    assert recam['init_from'] == baseline['checkpoint']
    assert 'recam_head.predictor.weight' in torch.load(
        recam['checkpoint'], map_location='cpu')['state_dict']
    assert 0 <= json.load(open(steps / 'eval_cams.json'))['mIoU'] <= 100
    assert _listing(work_dir / 'pseudo_labels') == _files(names, '.png')
    # IRN learns from the ReCAM maps' relation labels and walks them
    assert json.load(open(steps / 'train_irn.json'))['init_from'] == \
        recam['checkpoint']
    assert 0 <= json.load(open(steps / 'eval_refined.json'))['mIoU'] <= 100
