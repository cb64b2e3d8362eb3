# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The papers' second stage on the toy set through the real runner: the toy
DeepLab-v2 trains (tools/train.py), then tools/test.py reports val plain,
with --tta, with --crf and with --tta --crf; every stage-2 config has its
TTA settings."""
import glob
import os
import os.path as osp

import pytest
from mmengine.config import Config
from toy_subsets import link_toy_subset, toy_names

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_V2 = osp.join(REPO_ROOT, 'configs', 'toy',
                  'deeplabv2_r18-tiny_1xb8-300it_toyvoc-96x96.py')
ITERS = 6


@pytest.fixture(scope='module')
def v2_checkpoint(toy_voc, load_tool, tmp_path_factory):
    """The toy DeepLab-v2 after a few iterations on 8 images, whose GT masks
    stand in for pseudo masks; val is 4 images."""
    names = toy_names(toy_voc, 'train_aug', 8)
    root = link_toy_subset(
        toy_voc, tmp_path_factory.mktemp('v2_voc'),
        dict(train_aug=names, val=toy_names(toy_voc, 'val', 4)))
    os.symlink(
        osp.join(toy_voc, 'SegmentationClassAug'),
        osp.join(root, 'pseudo_labels'))
    work_dir = str(tmp_path_factory.mktemp('v2'))
    load_tool('train').main([
        TOY_V2, '--work-dir', work_dir, '--data-root', root, '--cfg-options',
        f'train_cfg.max_iters={ITERS}', 'train_cfg.val_interval=1000',
        f'param_scheduler.0.end={ITERS}', 'train_dataloader.batch_size=4',
        f'default_hooks.checkpoint.interval={ITERS}'
    ])
    return root, osp.join(work_dir, f'iter_{ITERS}.pth')


def test_val_plain_tta_and_crf(v2_checkpoint, load_tool, tmp_path):
    root, ckpt = v2_checkpoint
    tool = load_tool('test')
    # one unflipped view at scale 1: the plain test through the TTA model
    one_view = tmp_path / 'one_view.py'
    one_view.write_text(
        f'_base_ = {TOY_V2!r}\n'
        'tta_pipeline = [dict(type="LoadImageFromFile"), dict('
        'type="TestTimeAug", transforms=[[dict(type="Resize", '
        'scale_factor=1.0, keep_ratio=True)], [dict(type="LoadAnnotations")]'
        ', [dict(type="PackSegInputs")]])]\n')

    def miou(config, *flags):
        argv = [
            config, ckpt, '--data-root', root, '--work-dir',
            str(tmp_path)
        ] + list(flags)
        return tool.main(argv)['mIoU']

    plain = miou(TOY_V2)
    tta_crf = miou(TOY_V2, '--tta', '--crf')
    assert 0 <= plain <= 100 and 0 <= tta_crf <= 100
    # the wrappers change nothing by themselves: one view, no CRF iteration
    assert miou(
        str(one_view), '--tta', '--crf', '--cfg-options',
        'test_crf.iters=0') == plain


@pytest.mark.parametrize(
    'path',
    sorted(
        glob.glob(osp.join(REPO_ROOT, 'configs', 'deeplab*', '*.py')) +
        glob.glob(osp.join(REPO_ROOT, 'configs', 'toy', 'deeplab*.py'))))
def test_every_stage2_config_has_tta(path):
    cfg = Config.fromfile(path)
    assert cfg.tta_model.type == 'SoftmaxSegTTAModel'
    steps = [step.type for step in cfg.tta_pipeline]
    assert steps == ['LoadImageFromFile', 'TestTimeAug']
    scales, flips = cfg.tta_pipeline[1].transforms[:2]
    assert len(scales) > 1
    assert [flip.prob for flip in flips] == [0., 1.]


def test_tta_needs_a_tta_pipeline(load_tool):
    # CAM configs do their multi-scale + flip inside predict()
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'toy',
                 'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py'))
    with pytest.raises(KeyError, match='tta_pipeline'):
        load_tool('test').use_tta(cfg)
