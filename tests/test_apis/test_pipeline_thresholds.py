# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""WSSSPipeline exports at each recipe's fixed background threshold unless
told to choose it on the ground truth, and its report says which."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_wsss.apis.pipeline import WSSSPipeline

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1 = osp.join(REPO_ROOT, 'configs', 'toy',
                  'cam_r18-tiny_1xb8-300it_toyvoc-96x96.py')
STAGE2 = osp.join(REPO_ROOT, 'configs', 'toy',
                  'deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py')
# what step 4 (CAMIoUMetric) saved: the sweep's best and the model's own
EVAL_CAMS = dict(
    mIoU=61.5, best_bg_thr=0.3, fixed_mIoU=58.25, fixed_bg_thr=0.15)


@pytest.fixture(scope='module')
def configs():
    return Config.fromfile(STAGE1), Config.fromfile(STAGE2)


def _pipeline(configs, work_dir, **kwargs):
    # the pipeline works on copies of the configs
    pipeline = WSSSPipeline(*configs, str(work_dir), **kwargs)
    with open(osp.join(work_dir, 'steps', 'eval_cams.json'), 'w') as f:
        json.dump(EVAL_CAMS, f)
    return pipeline


def _cam_row(pipeline):
    rows = pipeline.report_table(dict(eval_cams=EVAL_CAMS))
    return next(row for row in rows if row.startswith('| CAM, stage 1 '))


def test_recipe_threshold_by_default(configs, tmp_path):
    pipeline = _pipeline(configs, tmp_path)
    assert pipeline._cam_bg_thr() == 0.15
    assert 'no ground-truth mask used' in pipeline.threshold_source()
    # the figure at the exported threshold leads; the sweep's best follows
    assert _cam_row(pipeline).startswith(
        '| CAM, stage 1 (method) | train | 58.25 | '
        "recipe's background threshold 0.15: 58.25; "
        'best background threshold 0.3 on these masks: 61.50 |')


def test_thresholds_tuned_on_gt_on_request(configs, tmp_path):
    pipeline = _pipeline(configs, tmp_path, tune_thresholds_on_gt=True)
    assert pipeline._cam_bg_thr() == 0.3
    assert 'ground-truth masks of `train`' in pipeline.threshold_source()
    assert '| train | 61.50 | best background threshold 0.3' in _cam_row(
        pipeline)


def test_recipe_threshold_from_the_config_when_not_measured(configs, tmp_path):
    # e.g. a CRF in the stage-1 test_cfg: no constant background channel
    pipeline = _pipeline(configs, tmp_path)
    assert pipeline._chosen_bg_thr(
        dict(best_bg_thr=0.3, fixed_bg_thr=float('nan')),
        Config(dict(model=dict(test_cfg=dict(bg_thr=0.21))))) == 0.21
    with pytest.raises(KeyError, match='test_cfg.bg_thr'):
        pipeline._chosen_bg_thr(
            dict(best_bg_thr=0.3), Config(dict(model=dict(test_cfg={}))))


def test_report_says_why_a_step_was_skipped(configs, tmp_path):
    pipeline = _pipeline(configs, tmp_path)
    results = dict(
        eval_cams=dict(EVAL_CAMS, seconds=1.0, skipped=False),
        train_seg_cam=dict(
            skipped_reason="stage2_labels is not 'both'", skipped=True),
        train_seg=dict(seconds=2.0, skipped=True))
    pipeline.write_report(results)
    with open(osp.join(tmp_path, 'report.md')) as f:
        report = f.read()
    assert '| eval_cams | 1.0 | ran |' in report
    assert "| train_seg_cam | nan | skipped (stage2_labels is not 'both') |" \
        in report
    assert '| train_seg | 2.0 | skipped (done before) |' in report
