# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The worked example of docs/user_guides/11_own_data.md, run as written
(its files, commands and config) with the toy backbone and one iteration:
images + CSV -> cls_labels.npy -> CAM network -> pseudo masks."""
import os
import os.path as osp
import re
import shlex

import numpy as np
from PIL import Image

from mmseg_wsss.datasets import load_cls_labels
from mmseg_wsss.utils import read_index_png, read_split_names

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GUIDE = osp.join(REPO, 'docs', 'user_guides', '11_own_data.md')
FENCE = re.compile(r'^\s*```(\w*)\n(.*?)^\s*```', re.S | re.M)
TOY_BASE = 'mmseg_wsss::toy/cam_r18-tiny_1xb8-300it_toyvoc-96x96.py'


def guide_blocks():
    """The guide's code blocks, in order, without their indentation."""
    with open(GUIDE) as f:
        text = f.read()
    blocks = []
    for lang, body in FENCE.findall(text):
        lines = body.splitlines()
        indent = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
        blocks.append((lang, '\n'.join(x[indent:] for x in lines) + '\n'))
    return blocks


def commands(block):
    """``(tool, argv)`` of each command of a shell block."""
    for line in block.replace('\\\n', ' ').splitlines():
        words = shlex.split(line)
        assert words[0] == 'python', line
        yield words[1][len('tools/'):-len('.py')], words[2:]


def test_the_guide_example_runs(tmp_path, monkeypatch, load_tool):
    blocks = guide_blocks()
    (_, classes), (_, csv_rows) = blocks[1], blocks[2]
    (_, make_labels), (_, config), (_, train_and_export) = blocks[3:6]
    monkeypatch.chdir(tmp_path)
    os.makedirs('data/pets/JPEGImages')
    rng = np.random.default_rng(0)
    for name in ('img_001', 'img_002', 'img_003'):
        Image.fromarray(
            rng.integers(0, 255, (40, 48, 3),
                         np.uint8)).save(f'data/pets/JPEGImages/{name}.jpg')
    with open('data/pets/classes.txt', 'w') as f:
        f.write(classes)
    with open('data/pets/labels.csv', 'w') as f:
        f.write(csv_rows)

    for tool, argv in commands(make_labels):
        load_tool(tool).main(argv)
    labels = load_cls_labels('data/pets/cls_labels.npy', num_classes=2)
    assert {
        k: v.tolist()
        for k, v in labels.items()
    } == {
        'img_001': [1, 0],
        'img_002': [1, 1],
        'img_003': [0, 0]
    }
    assert read_split_names('data/pets/ImageSets/Segmentation/train.txt') \
        == ['img_001', 'img_002', 'img_003']

    assert "_base_ = 'mmseg_wsss::wsss/cam_r50_voc.py'" in config
    with open('pets_cam.py', 'w') as f:
        f.write(config.replace('mmseg_wsss::wsss/cam_r50_voc.py', TOY_BASE))
    quick = [
        '--cfg-options', 'train_cfg.max_iters=1', 'param_scheduler.0.end=1',
        'train_dataloader.batch_size=3', 'default_hooks.checkpoint.interval=1',
        'model.test_cfg.scales=[1.0]'
    ]
    (train, train_argv), (export, export_argv) = commands(train_and_export)
    load_tool(train).main(train_argv + quick)
    export_argv = [a.replace('iter_52920', 'iter_1') for a in export_argv]
    load_tool(export).main(export_argv + quick[:1] + quick[-1:])
    out = 'work_dirs/pets_pseudo_labels'
    for name, vec in labels.items():
        mask = read_index_png(osp.join(out, name + '.png'))
        assert mask.shape == (40, 48)
        # only the image's own classes; none for the image without any
        assert set(np.unique(mask)) <= {0} | set(np.flatnonzero(vec) + 1)
