# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The whole WSSS pipeline as resumable steps: seeds -> pseudo labels ->
segmentation, with a Markdown report.

Every step writes its result to ``work_dir/steps/<step>.json`` last, after
its outputs; a step whose JSON exists is skipped, so a crashed run continues
where it stopped (a stage-1 or stage-2 training that died resumes from its
last checkpoint). Deleting a step's JSON redoes that step only.
"""
import copy
import functools
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_wsss.utils import write_file_atomically
from .evaluate_masks import evaluate_pseudo_labels
from .inference import init_model
from .pictures import cam_grid, prediction_grid
from .pseudo_labels import make_pseudo_labels

STEPS = ('train_cams', 'eval_cams', 'pseudo_labels', 'eval_pseudo_labels',
         'train_seg', 'eval_seg', 'pictures')
# the step that trains the network of each stage
TRAIN_STEPS = {1: 'train_cams', 2: 'train_seg'}
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _dataset_cfg(loader_cfg: dict) -> dict:
    """The innermost dataset config of a dataloader (through wrappers)."""
    ds = loader_cfg['dataset']
    while 'dataset' in ds and 'data_root' not in ds:
        ds = ds['dataset']
    return ds


class WSSSPipeline:
    """Stage 1 (CAM network) -> pseudo labels -> stage 2 (segmentation).

    Steps, each skipped when ``steps/<step>.json`` exists:

    1. ``train_cams``: train ``stage1_cfg`` in ``work_dir/stage1``.
    2. ``eval_cams``: CAM mIoU with the background-threshold sweep
       (``CAMIoUMetric``) on the config's test split (VOC ``train``).
    3. ``pseudo_labels``: pseudo masks of ``pseudo_split`` (``train_aug``)
       at the best threshold of step 2 (+ dense CRF if ``crf``).
    4. ``eval_pseudo_labels``: pseudo-mask mIoU on ``eval_split``.
    5. ``train_seg``: train ``stage2_cfg`` on the pseudo masks.
    6. ``eval_seg``: segmentation mIoU on its test split (VOC ``val``).
    7. ``pictures``: a CAM grid and predictions on ``val``.

    Then ``work_dir/report.md`` gathers the three mIoUs, the threshold,
    timings and pictures.

    Args:
        stage1_cfg (Config): CAM network config (mmseg-wsss).
        stage2_cfg (Config): Segmentation config trained on pseudo labels.
        work_dir (str): Output folder.
        data_root (str, optional): Overrides ``data_root`` of every
            dataloader of both configs. Defaults to None.
        crf (dict, optional): Dense CRF parameters for the pseudo labels;
            None means no CRF. Defaults to None.
        pseudo_split (str): Split that gets pseudo labels.
            Defaults to 'train_aug'.
        eval_split (str): Split with masks that scores them.
            Defaults to 'train'.
        num_pictures (int): Images per picture. Defaults to 4.
    """

    def __init__(self,
                 stage1_cfg: Config,
                 stage2_cfg: Config,
                 work_dir: str,
                 data_root: Optional[str] = None,
                 crf: Optional[dict] = None,
                 pseudo_split: str = 'train_aug',
                 eval_split: str = 'train',
                 num_pictures: int = 4):
        self.work_dir = osp.abspath(work_dir)
        self.stage1_cfg = copy.deepcopy(stage1_cfg)
        self.stage2_cfg = copy.deepcopy(stage2_cfg)
        if data_root is not None:
            for cfg in (self.stage1_cfg, self.stage2_cfg):
                for key in DATALOADERS:
                    _dataset_cfg(cfg[key])['data_root'] = data_root
        self.data_root = _dataset_cfg(
            self.stage1_cfg.test_dataloader).get('data_root')
        self.crf = crf
        self.pseudo_split = pseudo_split
        self.eval_split = eval_split
        self.num_pictures = num_pictures
        self.pseudo_dir = osp.join(self.work_dir, 'pseudo_labels')
        self.stage2_cfg.train_dataloader.dataset.data_prefix[
            'seg_map_path'] = self.pseudo_dir
        os.makedirs(osp.join(self.work_dir, 'steps'), exist_ok=True)

    # ------------------------------------------------------------ plumbing
    def _step_file(self, step: str) -> str:
        return osp.join(self.work_dir, 'steps', f'{step}.json')

    def result(self, step: str) -> dict:
        """The saved result of a finished step."""
        with open(self._step_file(step)) as f:
            return json.load(f)

    def run(self, steps: Sequence[str] = STEPS) -> Dict[str, dict]:
        """Run (or skip) the steps in order; write and return the report.

        Returns:
            dict: Step name -> its result (with ``seconds`` and ``skipped``).
        """
        results = {}
        for step in steps:
            if step not in STEPS:
                raise KeyError(f'unknown pipeline step {step!r}; steps are '
                               f'{", ".join(STEPS)}')
            results[step] = self._run_step(step, getattr(self, step))
        self.write_report(results)
        return results

    def _run_step(self, step: str, fn: Callable[[], dict]) -> dict:
        path = self._step_file(step)
        if osp.exists(path):
            print_log(
                f'[pipeline] {step}: done before, skipped', logger='current')
            return dict(self.result(step), skipped=True)
        print_log(f'[pipeline] {step}: running', logger='current')
        start = time.perf_counter()
        result = fn()
        result['seconds'] = round(time.perf_counter() - start, 2)
        write_file_atomically(json.dumps(result, indent=2).encode(), path)
        return dict(result, skipped=False)

    def _runner(self, cfg: Config, work_dir: str, name: str,
                **kwargs) -> Runner:
        cfg = copy.deepcopy(cfg)
        cfg.work_dir = work_dir
        # unique names: several runners live in this process
        cfg.experiment_name = f'{name}_{time.strftime("%Y%m%d_%H%M%S")}'
        cfg.merge_from_dict(kwargs)
        return Runner.from_cfg(cfg)

    # --------------------------------------------------------------- steps
    def _stage_cfg(self, stage: int) -> Config:
        return self.stage1_cfg if stage == 1 else self.stage2_cfg

    def _train(self, stage: int) -> dict:
        """Steps 1 and 5: train the network of ``stage`` (1 or 2)."""
        name = f'stage{stage}'
        work_dir = osp.join(self.work_dir, name)
        # a crashed training resumes from its last checkpoint
        resume = osp.exists(osp.join(work_dir, 'last_checkpoint'))
        runner = self._runner(
            self._stage_cfg(stage), work_dir, name, resume=resume)
        runner.train()
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        return dict(checkpoint=checkpoint, iters=runner.iter, resumed=resume)

    def _checkpoint(self, stage: int) -> str:
        """The checkpoint that trained the network of ``stage``."""
        return self.result(TRAIN_STEPS[stage])['checkpoint']

    def _test(self, stage: int) -> dict:
        """Steps 2 and 6: test the trained network of ``stage``."""
        name = f'stage{stage}_eval'
        runner = self._runner(
            self._stage_cfg(stage),
            osp.join(self.work_dir, name),
            name,
            load_from=self._checkpoint(stage))
        metrics = runner.test()
        return {k: _plain(v) for k, v in metrics.items()}

    train_cams = functools.partialmethod(_train, 1)
    eval_cams = functools.partialmethod(_test, 1)
    train_seg = functools.partialmethod(_train, 2)
    eval_seg = functools.partialmethod(_test, 2)

    def pseudo_labels(self) -> dict:
        """Step 3: pseudo masks at the best threshold of step 2."""
        bg_thr = self.result('eval_cams').get('best_bg_thr')
        summary = make_pseudo_labels(
            self.stage1_cfg,
            self._checkpoint(1),
            self.pseudo_dir,
            split=self.pseudo_split,
            crf=self.crf,
            bg_thr=bg_thr,
            work_dir=osp.join(self.work_dir, 'pseudo_labels_logs'))
        return dict(
            summary,
            bg_thr=bg_thr,
            crf=self.crf is not None,
            split=self.pseudo_split,
            out_dir=self.pseudo_dir)

    def eval_pseudo_labels(self) -> dict:
        """Step 4: pseudo-mask mIoU against the ground truth."""
        metrics = evaluate_pseudo_labels(self.pseudo_dir, self.data_root,
                                         self.eval_split)
        return {k: _plain(v) for k, v in metrics.items()}

    def pictures(self) -> dict:
        """Step 7: CAM grid of ``eval_split`` and predictions on val."""
        cams = osp.join(self.work_dir, 'cam_grid.png')
        cam_grid(
            init_model(self.stage1_cfg, self._checkpoint(1), prepare=True),
            self.stage1_cfg,
            cams,
            split=self.eval_split,
            num=self.num_pictures,
            pseudo_dir=self.pseudo_dir)
        predictions = osp.join(self.work_dir, 'val_predictions.png')
        prediction_grid(
            self.stage2_cfg,
            self._checkpoint(2),
            predictions,
            num=self.num_pictures)
        return dict(cam_grid=cams, val_predictions=predictions)

    # -------------------------------------------------------------- report
    def write_report(self, results: Dict[str, dict]) -> str:
        """Write ``report.md`` from the step results; return its table."""
        lines = self.report_table(results)
        timings = ['| step | seconds | this run |', '|---|---:|---|'] + [
            f'| {step} | {res.get("seconds", float("nan")):.1f} | '
            f'{"skipped (done before)" if res.get("skipped") else "ran"} |'
            for step, res in results.items()
        ]
        body = ['# WSSS pipeline report', '',
                f'- stage 1: `{self.stage1_cfg.filename}`',
                f'- stage 2: `{self.stage2_cfg.filename}`',
                f'- data: `{self.data_root}`', '', '## Results', ''] + \
            lines + ['', '## Timings', ''] + timings
        pics = results.get('pictures')
        if pics:
            body += [
                '', '## Pictures', '',
                'CAMs (image, class heat maps, ground truth, pseudo label):',
                '', f'![CAMs]({osp.basename(pics["cam_grid"])})', '',
                'Stage-2 predictions on val (image, ground truth, '
                'prediction):', '',
                f'![val]({osp.basename(pics["val_predictions"])})'
            ]
        write_file_atomically(('\n'.join(body) + '\n').encode(),
                              osp.join(self.work_dir, 'report.md'))
        return '\n'.join(lines)

    def report_table(self, results: Dict[str, dict]) -> List[str]:
        """Markdown rows of the three mIoUs."""

        def miou(step):
            value = results.get(step, {}).get('mIoU')
            return 'n/a' if value is None else f'{value:.2f}'

        cam = results.get('eval_cams', {})
        pseudo = results.get('pseudo_labels', {})
        return [
            '| measure | split | mIoU (%) | notes |',
            '|---|---|---:|---|',
            f'| CAM (seeds) | {self.eval_split} | {miou("eval_cams")} | '
            f'best background threshold {cam.get("best_bg_thr", "n/a")} |',
            f'| pseudo masks | {self.eval_split} | '
            f'{miou("eval_pseudo_labels")} | threshold '
            f'{pseudo.get("bg_thr", "n/a")}, CRF '
            f'{"on" if pseudo.get("crf") else "off"} |',
            f'| segmentation | val | {miou("eval_seg")} | stage 2 |',
        ]


def _plain(value):
    """JSON-friendly copy of a metric value (numpy scalars -> float)."""
    if hasattr(value, 'item'):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
