# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""tools/run_pipeline.py end to end on a toy COCO 2014 (one tiny run): the
method, pseudo labels with a dense CRF, IRN's refinement, the second stage
and the pictures over 80 classes, splits and ground truth in COCO's
layout."""
import json
import math
import os
import os.path as osp
import re

import numpy as np
import pytest

from mmseg_wsss.datasets.coco_converter import convert_coco
from mmseg_wsss.datasets.toy_coco import make_toy_coco
from mmseg_wsss.utils import read_index_png

TOY = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'toy')
STAGE1 = osp.join(TOY, 'rcm-mam_r18-tiny_1xb8-300it_toycoco-96x96.py')
IRN = osp.join(TOY, 'irn_r18-tiny_1xb8-300it_toycoco-192x192.py')
STAGE2 = osp.join(TOY, 'deeplabv3plus_r18-tiny_1xb8-300it_toycoco-96x96.py')
# serialize_data=False: mmengine's serialisation runs gc.collect() per
# dataset build (a second or so in a full test session), for nothing here
QUICK = [
    'train_cfg.max_iters=2', 'train_dataloader.batch_size=4',
    'train_dataloader.dataset.serialize_data=False',
    'test_dataloader.dataset.serialize_data=False'
]


@pytest.fixture(scope='module')
def coco_pipeline(tmp_path_factory, load_tool):
    # 6 train images (one without objects) and 2 val images, converted
    root = str(tmp_path_factory.mktemp('pipeline_coco'))
    truth = make_toy_coco(root, num_train=6, num_val=2)
    convert_coco(root)
    work_dir = str(tmp_path_factory.mktemp('coco_pipeline'))
    load_tool('run_pipeline').main([
        STAGE1, STAGE2, '--no-baseline', '--irn-config', IRN, '--work-dir',
        work_dir, '--data-root', root, '--num-pictures', '2', '--global-batch',
        'none', '--crf', '--cfg-options-stage1', *QUICK,
        'model.test_cfg.scales=[1.0]', '--cfg-options-irn', *QUICK,
        '--cfg-options-stage2', *QUICK
    ])
    return work_dir, truth, root


def test_every_stage_over_coco_classes(coco_pipeline):
    work_dir, truth, _ = coco_pipeline
    with open(osp.join(work_dir, 'report.md')) as f:
        report = f.read()
    rows = dict(
        re.findall(
            r'^\| ((?:CAM|pseudo masks|segmentation)[^|]*) \| \w+ \| '
            r'([^|]+) \|', report, re.M))
    for row in ('CAM, stage 1 (method)', 'pseudo masks, CAM+CRF',
                'pseudo masks, refined (IRN)', 'segmentation'):
        assert math.isfinite(float(rows[row])), row
    with open(osp.join(work_dir, 'steps', 'eval_cams.json')) as f:
        cams = json.load(f)
    # 81 classes, COCO's last among them
    assert 'IoU.toothbrush' in cams and 'IoU.background' in cams
    train = [n for n, t in truth.items() if t['split'] == 'train2014']
    for folder in ('pseudo_labels', 'refined_labels'):
        pngs = [
            f for f in os.listdir(osp.join(work_dir, folder))
            if f.endswith('.png')
        ]
        assert sorted(pngs) == sorted(n + '.png' for n in train), folder
    for name in train:
        label = read_index_png(
            osp.join(work_dir, 'pseudo_labels', name + '.png'))
        present = set(np.unique(label).tolist()) - {0, 255}
        # the image's own classes only (mask indices 1..80)
        assert present <= set(np.flatnonzero(truth[name]['labels']) + 1)
        if not truth[name]['labels'].any():
            assert not label.any(), 'an image without objects is background'
    assert osp.isfile(osp.join(work_dir, 'cam_grid.png'))


def test_eval_pseudo_labels_reads_the_layout_from_a_config(
        coco_pipeline, load_tool):
    work_dir, _, root = coco_pipeline
    metrics = load_tool('eval_pseudo_labels').main([
        osp.join(work_dir, 'pseudo_labels'), '--config', STAGE1, '--data-root',
        root
    ])
    with open(osp.join(work_dir, 'steps', 'eval_pseudo_labels.json')) as f:
        step = json.load(f)
    assert metrics['num_images'] == 6 and len(metrics['IoU']) == 81
    assert metrics['mIoU'] == step['mIoU']
