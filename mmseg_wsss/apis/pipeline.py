# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The whole WSSS pipeline as resumable steps: CAM baseline -> seeds of the
method -> pseudo labels -> segmentation, with a Markdown report.

Every step writes its result to ``work_dir/steps/<step>.json`` last, after
its outputs; a step whose JSON exists is skipped, so a crashed run continues
where it stopped (a stage-1 or stage-2 training that died resumes from its
last checkpoint). Deleting a step's JSON redoes that step only.
"""
import copy
import functools
import json
import math
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_wsss.utils import write_file_atomically
from mmseg_wsss.utils.config_paths import (dataset_cfg, set_cfg_cam_dir,
                                           set_data_root, set_relation_dir,
                                           split_file, split_name)
from mmseg_wsss.utils.scale_out import keep_global_batch
from .evaluate_masks import evaluate_pseudo_labels, ground_truth_of
from .inference import init_model
from .pictures import cam_grid, prediction_grid
from .pretrained import (check_pretrained_files,
                         skip_pretrained_under_checkpoint)
from .pseudo_labels import make_pseudo_labels
from .refined_labels import make_refined_labels

STEPS = ('train_baseline', 'eval_baseline', 'train_cams', 'eval_cams',
         'pseudo_labels', 'eval_pseudo_labels', 'relation_labels', 'train_irn',
         'eval_refined', 'refined_labels', 'train_seg', 'eval_seg',
         'train_seg_cam', 'eval_seg_cam', 'pictures')
# the steps of the refinement (IRN), skipped without an IRN config
IRN_STEPS = ('relation_labels', 'train_irn', 'eval_refined', 'refined_labels')
# the second stage 2 on the CAM masks, only with stage2_labels='both'
CAM_STAGE_2_STEPS = ('train_seg_cam', 'eval_seg_cam')
# the step that trains the network of each stage
TRAIN_STEPS = {
    '1a': 'train_baseline',
    1: 'train_cams',
    'irn': 'train_irn',
    2: 'train_seg',
    '2cam': 'train_seg_cam'
}


class WSSSPipeline:
    """Stage 1a (CAM baseline) -> stage 1b (the method, initialised from
    1a) -> pseudo labels -> stage 2 (segmentation).

    Steps, each skipped when ``steps/<step>.json`` exists:

    1. ``train_baseline``: train ``baseline_cfg`` in ``work_dir/stage1a``.
    2. ``eval_baseline``: its CAM mIoU, as step 4 measures it.
    3. ``train_cams``: train ``stage1_cfg`` in ``work_dir/stage1``, both
       networks initialised from the checkpoint of step 1 (``load_from``).
    4. ``eval_cams``: CAM mIoU with the background-threshold sweep
       (``CAMIoUMetric``) on the config's test split (VOC ``train``).
    5. ``pseudo_labels``: pseudo masks of ``pseudo_split`` (``train_aug``)
       at the stage-1 recipe's background threshold (+ dense CRF if
       ``crf``); with ``tune_thresholds_on_gt``, at the best of step 4's
       sweep on ``eval_split``'s ground-truth masks instead.
    6. ``eval_pseudo_labels``: pseudo-mask mIoU on ``eval_split``.
    7. ``relation_labels`` (with ``irn_cfg``): one export of
       ``pseudo_split`` writing the CAMs (``.npz``), IRN's relation labels
       (``irn_cfg.relation_cfg``) and plain CAM pseudo masks (no CRF, the
       threshold of step 5), then the CAMs and plain masks of
       ``eval_split`` images not in it; the plain masks' mIoU (the "CAM"
       row next to step 6's CRF one).
    8. ``train_irn``: train ``irn_cfg`` on the relation labels in
       ``work_dir/irn``; with ``irn_cfg.backbone_from_cam_checkpoint`` its
       backbone starts from step 3's checkpoint (the toy analogue of IRN's
       frozen ImageNet backbone).
    9. ``eval_refined``: refined pseudo-mask mIoU (random walk on the CAMs
       of step 7) on ``eval_split`` at the IRN recipe's threshold, and over
       the background-threshold sweep of step 4 (``CAMIoUMetric`` on the
       walked maps); with ``crf`` also with a dense CRF after the walk (as
       PSA's walk was followed by one), at the threshold of step 10.
    10. ``refined_labels``: refined masks of ``pseudo_split`` as PNGs at
        the IRN recipe's threshold, the sweep's best with
        ``tune_thresholds_on_gt`` (``IoUMetric(format_only=True)``; walk +
        CRF with ``crf``), the stage-2 labels when
        ``stage2_labels='refined'``.
    11. ``train_seg``: train ``stage2_cfg`` on the pseudo masks.
    12. ``eval_seg``: segmentation mIoU on its test split (VOC ``val``);
        with ``stage2_labels='both'`` then ``train_seg_cam`` and
        ``eval_seg_cam``: the same on the CAM masks of step 5.
    13. ``pictures``: a CAM grid (with ``irn_cfg``, also the boundary map
        and refined mask of step 8's IRN) and predictions on ``val``.

    Without ``baseline_cfg`` steps 1-2 are skipped and stage 1 trains from
    its own initialisation; without ``irn_cfg`` steps 7-10. Then
    ``work_dir/report.md`` gathers the mIoUs (baseline and method CAMs side
    by side; CAM, CAM+CRF, refined and refined+CRF pseudo masks), the
    threshold, timings and pictures.

    Args:
        stage1_cfg (Config): CAM network config (mmseg-wsss).
        stage2_cfg (Config): Segmentation config trained on pseudo labels.
        work_dir (str): Output folder.
        baseline_cfg (Config, optional): The CAM baseline of stage 1a that
            initialises stage 1 (see :func:`baseline_config_of`). Defaults
            to None (no stage 1a).
        data_root (str, optional): Overrides ``data_root`` of every
            dataloader of both configs. Defaults to None.
        crf (dict, optional): Dense CRF parameters for the CAM pseudo
            labels; None means no CRF. With ``irn_cfg``, not None also puts
            a CRF after the walk (the IRN's own ``test_cfg.crf`` or the
            defaults). Defaults to None.
        pseudo_split (str, optional): Split that gets pseudo labels.
            Defaults to None: the split stage 1 trains on (VOC's
            'train_aug', COCO's 'train').
        eval_split (str, optional): Split with masks that scores them.
            Defaults to None: the split stage 1 is tested on ('train').
        num_pictures (int): Images per picture. Defaults to 4.
        irn_cfg (Config, optional): IRN relation network config (e.g.
            ``configs/irn/*.py``). Defaults to None (no refinement).
        stage2_labels (str): What stage 2 trains on with ``irn_cfg``:
            'refined' (step 10), 'cam' (step 5) or 'both' (the refined masks
            in steps 11-12, the CAM masks in a second stage 2 of the same
            config, steps ``train_seg_cam`` and ``eval_seg_cam``, for the
            report's comparison). Defaults to 'refined'.
        global_batch (str, optional): How this single process trains each
            config at its recipe's global batch (``auto_scale_lr.
            base_batch_size``, e.g. 16 for the 4xb4 DeepLabV3+):
            'accumulate' (gradient accumulation over micro-batches of the
            config's ``batch_size``: its memory, BatchNorm over a micro-
            batch), 'device' (the whole global batch on the device: BN over
            it, as SyncBN over the recipe's GPUs, at its memory) or None
            (the configs as they are). See
            :func:`~mmseg_wsss.utils.scale_out.keep_global_batch`. Configs
            without ``auto_scale_lr`` train as they are. Defaults to
            'accumulate'.
        tune_thresholds_on_gt (bool): Export the CAM and refined masks at
            the background thresholds that score best on ``eval_split``'s
            ground-truth masks (steps 4 and 9), i.e. use pixel labels. By
            default they are exported at each recipe's own threshold (its
            model's ``test_cfg.bg_thr``), with no ground truth. The report
            says which. Defaults to False.
    """

    def __init__(self,
                 stage1_cfg: Config,
                 stage2_cfg: Config,
                 work_dir: str,
                 baseline_cfg: Optional[Config] = None,
                 data_root: Optional[str] = None,
                 crf: Optional[dict] = None,
                 pseudo_split: Optional[str] = None,
                 eval_split: Optional[str] = None,
                 num_pictures: int = 4,
                 irn_cfg: Optional[Config] = None,
                 stage2_labels: str = 'refined',
                 tune_thresholds_on_gt: bool = False,
                 global_batch: Optional[str] = 'accumulate'):
        if stage2_labels not in ('refined', 'cam', 'both'):
            raise ValueError("stage2_labels must be 'refined', 'cam' or "
                             f"'both', got {stage2_labels!r}")
        self.work_dir = osp.abspath(work_dir)
        self.stage1_cfg = copy.deepcopy(stage1_cfg)
        self.stage2_cfg = copy.deepcopy(stage2_cfg)
        self.baseline_cfg = copy.deepcopy(baseline_cfg)
        self.irn_cfg = copy.deepcopy(irn_cfg)
        configs = [self.stage1_cfg, self.stage2_cfg]
        configs += [
            cfg for cfg in (self.baseline_cfg, self.irn_cfg) if cfg is not None
        ]
        if data_root is not None:
            for cfg in configs:
                set_data_root(cfg, data_root)
        self.data_root = dataset_cfg(
            self.stage1_cfg.test_dataloader).get('data_root')
        self.crf = crf
        # the stage-1 test dataset names the ground truth: its split file's
        # folder, mask folder and classes (VOC's layout or COCO's)
        self.gt_dataset = dataset_cfg(self.stage1_cfg.test_dataloader)
        self.pseudo_split = pseudo_split or split_name(
            dataset_cfg(self.stage1_cfg.train_dataloader))
        self.eval_split = eval_split or split_name(self.gt_dataset)
        self.num_pictures = num_pictures
        self.pseudo_dir = osp.join(self.work_dir, 'pseudo_labels')
        self.cam_dir = osp.join(self.work_dir, 'cams')
        self.plain_dir = osp.join(self.work_dir, 'pseudo_labels_plain')
        self.relation_dir = osp.join(self.work_dir, 'relation_labels')
        self.refined_dir = osp.join(self.work_dir, 'refined_labels')
        self.stage2_labels = stage2_labels if irn_cfg is not None else 'cam'
        self.global_batch = global_batch
        self.tune_thresholds_on_gt = tune_thresholds_on_gt
        # with 'both', stage 2 trains on the refined masks, and a second
        # stage 2 of the same config on the CAM masks
        self.stage2_cam_cfg = None
        if self.stage2_labels == 'both':
            self.stage2_cam_cfg = copy.deepcopy(self.stage2_cfg)
            self.stage2_cam_cfg.train_dataloader.dataset.data_prefix[
                'seg_map_path'] = self.pseudo_dir
        self.stage2_cfg.train_dataloader.dataset.data_prefix[
            'seg_map_path'] = (
                self.pseudo_dir
                if self.stage2_labels == 'cam' else self.refined_dir)
        if self.irn_cfg is not None:
            self._point_irn_at_inputs()
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
        if step in IRN_STEPS and self.irn_cfg is None:
            return dict(skipped_reason='no IRN config', skipped=True)
        if step in CAM_STAGE_2_STEPS and self.stage2_cam_cfg is None:
            return dict(
                skipped_reason="stage2_labels is not 'both'", skipped=True)
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
        # a stage started from (or resuming) a checkpoint reads no ImageNet
        # weights
        skip_pretrained_under_checkpoint(cfg)
        return Runner.from_cfg(cfg)

    # --------------------------------------------------------------- steps
    def _point_irn_at_inputs(self) -> None:
        """The IRN config reads the relation labels and CAMs of step 7."""
        cfg = self.irn_cfg
        set_relation_dir(cfg, self.relation_dir)
        set_cfg_cam_dir(cfg, self.cam_dir)
        # the CAMs cover pseudo_split and eval_split only: no validation
        cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
        cfg.train_cfg.pop('val_interval', None)

    def _stage_cfg(self, stage) -> Config:
        return dict((('1a', self.baseline_cfg), (1, self.stage1_cfg),
                     ('irn', self.irn_cfg), (2, self.stage2_cfg),
                     ('2cam', self.stage2_cam_cfg)))[stage]

    def train_config(self, stage) -> Optional[Config]:
        """The config that trains the network of ``stage`` ('1a', 1, 'irn',
        2, '2cam'): at its recipe's global batch (``global_batch``)."""
        cfg = self._stage_cfg(stage)
        if cfg is None or self.global_batch is None or \
                'auto_scale_lr' not in cfg:
            return cfg
        return keep_global_batch(cfg, world_size=1, mode=self.global_batch)

    def _train(self, stage) -> dict:
        """Steps 1, 3 and 7: train the network of ``stage`` ('1a', 1, 2)."""
        if self._stage_cfg(stage) is None:
            return dict(skipped_reason='no baseline config')
        name = 'irn' if stage == 'irn' else f'stage{stage}'
        work_dir = osp.join(self.work_dir, name)
        # a crashed training resumes from its last checkpoint
        resume = osp.exists(osp.join(work_dir, 'last_checkpoint'))
        options = dict(resume=resume)
        if stage == 1 and self.baseline_cfg is not None and not resume:
            options['load_from'] = self._checkpoint('1a')
        init_from = options.get('load_from')
        if stage == 'irn' and self.irn_cfg.get('backbone_from_cam_checkpoint'):
            init_from = self._checkpoint(1)
            options['model.backbone.init_cfg'] = dict(
                _delete_=True,
                type='Pretrained',
                checkpoint=init_from,
                prefix='backbone.')
        cfg = self.train_config(stage)
        runner = self._runner(cfg, work_dir, name, **options)
        check_pretrained_files(runner.cfg)
        runner.train()
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        return dict(
            checkpoint=checkpoint,
            iters=runner.iter,
            resumed=resume,
            init_from=init_from,
            batch_size=cfg.train_dataloader.batch_size,
            accumulative_counts=cfg.optim_wrapper.get('accumulative_counts',
                                                      1))

    def _checkpoint(self, stage) -> str:
        """The checkpoint that trained the network of ``stage``."""
        return self.result(TRAIN_STEPS[stage])['checkpoint']

    def _test(self, stage) -> dict:
        """Steps 2, 4 and 8: test the trained network of ``stage``."""
        if self._stage_cfg(stage) is None:
            return dict(skipped_reason='no baseline config')
        name = f'stage{stage}_eval'
        runner = self._runner(
            self._stage_cfg(stage),
            osp.join(self.work_dir, name),
            name,
            load_from=self._checkpoint(stage))
        metrics = runner.test()
        return {k: _plain(v) for k, v in metrics.items()}

    train_baseline = functools.partialmethod(_train, '1a')
    eval_baseline = functools.partialmethod(_test, '1a')
    train_cams = functools.partialmethod(_train, 1)
    eval_cams = functools.partialmethod(_test, 1)
    train_irn = functools.partialmethod(_train, 'irn')
    train_seg = functools.partialmethod(_train, 2)
    eval_seg = functools.partialmethod(_test, 2)
    train_seg_cam = functools.partialmethod(_train, '2cam')
    eval_seg_cam = functools.partialmethod(_test, '2cam')

    def _chosen_bg_thr(self, result: dict, cfg: Config) -> float:
        """The background threshold of exported masks, from the result of
        their test (step 4 or 9) and their config: the recipe's, i.e. the
        model's ``test_cfg.bg_thr`` as the test scored it
        (``fixed_bg_thr``), or with ``tune_thresholds_on_gt`` the sweep's
        best on ``eval_split``'s ground-truth masks (``best_bg_thr``)."""
        if self.tune_thresholds_on_gt:
            return result['best_bg_thr']
        thr = result.get('fixed_bg_thr')
        if thr is None or math.isnan(thr):
            thr = cfg.model.get('test_cfg', {}).get('bg_thr')
        if thr is None:
            raise KeyError(
                f'{cfg.filename}: model.test_cfg.bg_thr (the recipe\'s '
                'background threshold) is not set; set it, or choose the '
                'threshold on the ground truth (tune_thresholds_on_gt)')
        return thr

    def _cam_bg_thr(self) -> float:
        """The background threshold of the CAM pseudo masks."""
        return self._chosen_bg_thr(self.result('eval_cams'), self.stage1_cfg)

    def _refined_bg_thr(self, result: Optional[dict] = None) -> float:
        """The background threshold of the refined masks."""
        return self._chosen_bg_thr(
            result or self.result('eval_refined'), self.irn_cfg)

    def _export(self, out_dir: str, split: str, **kwargs) -> dict:
        """Export stage 1's outputs of ``split`` at the threshold of
        :meth:`_cam_bg_thr` (:func:`make_pseudo_labels`); return its
        summary."""
        return make_pseudo_labels(
            self.stage1_cfg,
            self._checkpoint(1),
            out_dir,
            split=split,
            bg_thr=self._cam_bg_thr(),
            **kwargs)

    def pseudo_labels(self) -> dict:
        """Step 5: pseudo masks at the stage-1 recipe's threshold (the
        best of step 4 with ``tune_thresholds_on_gt``)."""
        summary = self._export(
            self.pseudo_dir,
            self.pseudo_split,
            crf=self.crf,
            work_dir=osp.join(self.work_dir, 'pseudo_labels_logs'))
        return dict(
            summary,
            bg_thr=self._cam_bg_thr(),
            bg_thr_tuned_on_gt=self.tune_thresholds_on_gt,
            crf=self.crf is not None,
            split=self.pseudo_split,
            out_dir=self.pseudo_dir)

    def eval_pseudo_labels(self) -> dict:
        """Step 6: pseudo-mask mIoU against the ground truth."""
        metrics = self._evaluate_masks(self.pseudo_dir)
        return {k: _plain(v) for k, v in metrics.items()}

    def _evaluate_masks(self, pred_dir: str) -> dict:
        """mIoU of the masks in ``pred_dir`` on ``eval_split`` against the
        ground truth of stage 1's test dataset, over its classes."""
        return evaluate_pseudo_labels(
            pred_dir, **ground_truth_of(self.gt_dataset, self.eval_split))

    def relation_labels(self) -> dict:
        """Step 7: CAMs, relation labels and plain CAM masks."""
        relation = dict(self.irn_cfg.get('relation_cfg') or {})
        common = dict(
            cam_dir=self.cam_dir,
            work_dir=osp.join(self.work_dir, 'relation_labels_logs'))
        summary = self._export(
            self.plain_dir,
            self.pseudo_split,
            relation_dir=self.relation_dir,
            relation=relation,
            **common)
        # images of eval_split outside pseudo_split (none on VOC) get their
        # CAMs and plain masks too; the others are found done and skipped
        # (COCO scores the split it labels: nothing to add)
        if self.eval_split != self.pseudo_split:
            self._export(self.plain_dir, self.eval_split, **common)
        metrics = self._evaluate_masks(self.plain_dir)
        return dict(
            summary,
            relation=relation,
            relation_dir=self.relation_dir,
            cam_dir=self.cam_dir,
            plain_dir=self.plain_dir,
            plain={
                k: _plain(v)
                for k, v in metrics.items()
            })

    def _irn_runner(self, name: str, split: str, evaluator: dict,
                    with_masks: bool, **test_cfg) -> Runner:
        """A runner testing the trained IRN on ``split``, its model's
        ``test_cfg`` updated with ``test_cfg``."""
        cfg = copy.deepcopy(self.irn_cfg)
        dataset = dataset_cfg(cfg.test_dataloader)
        dataset['ann_file'] = split_file(dataset, split)
        if not with_masks:
            dataset['pipeline'] = copy.deepcopy(cfg.infer_pipeline)
        cfg.test_evaluator = evaluator
        cfg.model.setdefault('test_cfg', {}).update(test_cfg)
        return self._runner(
            cfg,
            osp.join(self.work_dir, name),
            name,
            load_from=self._checkpoint('irn'))

    def _refined_crf(self) -> Optional[dict]:
        """The CRF after the walk: with ``crf``, the IRN config's
        ``test_cfg.crf`` or the defaults; else none."""
        if self.crf is None:
            return None
        return dict(self.irn_cfg.model.get('test_cfg', {}).get('crf') or {})

    def eval_refined(self) -> dict:
        """Step 9: refined pseudo-mask mIoU on ``eval_split`` over the
        background-threshold sweep (``CAMIoUMetric``, as step 4 for the
        CAMs); with ``crf`` also after a dense CRF at the best threshold
        (``crf``: its metrics)."""
        metrics = self._irn_runner(
            'irn_eval',
            self.eval_split,
            dict(type='CAMIoUMetric'),
            True,
            crf=None).test()
        result = {k: _plain(v) for k, v in metrics.items()}
        if self.crf is not None:
            metrics = self._irn_runner(
                'irn_eval_crf',
                self.eval_split,
                dict(type='IoUMetric', iou_metrics=['mIoU']),
                True,
                bg_thr=self._refined_bg_thr(result),
                crf=self._refined_crf()).test()
            result['crf'] = {k: _plain(v) for k, v in metrics.items()}
        return result

    def refined_labels(self) -> dict:
        """Step 10: refined masks of ``pseudo_split`` at the IRN recipe's
        threshold (the best of step 9 with ``tune_thresholds_on_gt``; after
        a dense CRF with ``crf``), one PNG each."""
        bg_thr = self._refined_bg_thr()
        cfg = copy.deepcopy(self.irn_cfg)
        cfg.model.setdefault('test_cfg', {})['crf'] = self._refined_crf()
        # the export of tools/make_refined_labels.py: resumable, manifest
        summary = make_refined_labels(
            cfg,
            self._checkpoint('irn'),
            self.refined_dir,
            split=self.pseudo_split,
            bg_thr=bg_thr,
            work_dir=osp.join(self.work_dir, 'irn_refine'))
        images = summary['written'] + summary['skipped']
        return dict(
            out_dir=self.refined_dir,
            images=images,
            bg_thr=bg_thr,
            bg_thr_tuned_on_gt=self.tune_thresholds_on_gt,
            crf=self.crf is not None,
            seconds_per_image=summary['seconds'] / max(images, 1))

    def pictures(self) -> dict:
        """Step 13: CAM grid of ``eval_split`` (with ``irn_cfg``, the
        trained IRN's boundary maps and refined masks of step 7's CAMs too)
        and predictions on val."""
        cams = osp.join(self.work_dir, 'cam_grid.png')
        irn = None
        if self.irn_cfg is not None:
            irn = init_model(self.irn_cfg, self._checkpoint('irn'))
            if osp.exists(self._step_file('eval_refined')):
                # the refined masks as step 10 exports them (without CRF)
                irn.test_cfg.bg_thr = self._refined_bg_thr()
        cam_grid(
            init_model(self.stage1_cfg, self._checkpoint(1), prepare=True),
            self.stage1_cfg,
            cams,
            split=self.eval_split,
            num=self.num_pictures,
            pseudo_dir=self.pseudo_dir,
            irn=irn)
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

        def run_note(res: dict) -> str:
            if not res.get('skipped'):
                return 'ran'
            return f'skipped ({res.get("skipped_reason", "done before")})'

        timings = ['| step | seconds | this run |', '|---|---:|---|'] + [
            f'| {step} | {res.get("seconds", float("nan")):.1f} | '
            f'{run_note(res)} |' for step, res in results.items()
        ]
        baseline = ('none' if self.baseline_cfg is None else
                    f'`{self.baseline_cfg.filename}`')
        irn = ('none'
               if self.irn_cfg is None else f'`{self.irn_cfg.filename}`')
        body = ['# WSSS pipeline report', '',
                f'- stage 1a (baseline): {baseline}',
                f'- stage 1: `{self.stage1_cfg.filename}`',
                f'- refinement (IRN): {irn}',
                f'- stage 2: `{self.stage2_cfg.filename}`',
                f'- data: `{self.data_root}`',
                f'- background thresholds of the exported masks: '
                f'{self.threshold_source()}', '', '## Results', ''] + \
            lines + ['', '## Timings', ''] + timings
        pics = results.get('pictures')
        if pics:
            irn_columns = ('' if self.irn_cfg is None else
                           ', IRN boundary map, refined mask')
            body += [
                '', '## Pictures', '',
                'CAMs (image, class heat maps, ground truth, pseudo label'
                f'{irn_columns}):', '',
                f'![CAMs]({osp.basename(pics["cam_grid"])})', '',
                'Stage-2 predictions on val (image, ground truth, '
                'prediction):', '',
                f'![val]({osp.basename(pics["val_predictions"])})'
            ]
        write_file_atomically(('\n'.join(body) + '\n').encode(),
                              osp.join(self.work_dir, 'report.md'))
        return '\n'.join(lines)

    def threshold_source(self) -> str:
        """How the background thresholds of the exported masks were
        chosen, in words (the report's header)."""
        if self.tune_thresholds_on_gt:
            return ('the best of the sweep on the ground-truth masks of '
                    f'`{self.eval_split}` (tune_thresholds_on_gt: pixel '
                    'labels used)')
        return ("each recipe's own (the model's test_cfg.bg_thr); no "
                'ground-truth mask used')

    def report_table(self, results: Dict[str, dict]) -> List[str]:
        """Markdown rows of the three mIoUs."""

        def miou(step):
            value = results.get(step, {}).get('mIoU')
            return 'n/a' if value is None else f'{value:.2f}'

        def swept(step):
            # a swept test at the threshold the exports use, and the other
            res = results.get(step, {})
            best, fixed = res.get('mIoU'), res.get('fixed_mIoU')
            if best is None:
                return None, 'n/a', ''
            best_note = (f'best background threshold {res["best_bg_thr"]:g}'
                         f' on these masks: {best:.2f}')
            if fixed is None:
                return best, f'{best:.2f}', best_note
            fixed_note = (f"recipe's background threshold "
                          f'{res["fixed_bg_thr"]:g}: {fixed:.2f}')
            if self.tune_thresholds_on_gt:
                return best, f'{best:.2f}', f'{best_note}; {fixed_note}'
            return fixed, f'{fixed:.2f}', f'{fixed_note}; {best_note}'

        cam, cam_text, cam_note = swept('eval_cams')
        base, base_text, base_note = swept('eval_baseline')
        pseudo = results.get('pseudo_labels', {})
        rows = [
            '| measure | split | mIoU (%) | notes |',
            '|---|---|---:|---|',
        ]
        if base is not None:
            rows.append(f'| CAM, stage 1a (baseline) | {self.eval_split} | '
                        f'{base_text} | {base_note} |')
        rows.append(f'| CAM, stage 1 (method) | {self.eval_split} | '
                    f'{cam_text} | {cam_note} |')
        if base is not None and cam is not None:
            rows.append(f'| CAM, method - baseline | {self.eval_split} | '
                        f'{cam - base:+.2f} | stage 1 '
                        'trained stage 1a further: not a same-length '
                        'comparison (benchmarks/bench_ablation.py is) |')
        relation = results.get('relation_labels', {})
        plain = relation.get('plain', {}).get('mIoU')
        if plain is not None and pseudo.get('crf'):
            rows.append(f'| pseudo masks, CAM | {self.eval_split} | '
                        f'{plain:.2f} | threshold '
                        f'{pseudo.get("bg_thr", "n/a")}, no CRF |')
        crf = 'CAM+CRF' if pseudo.get('crf') else 'CAM'
        rows.append(f'| pseudo masks, {crf} | {self.eval_split} | '
                    f'{miou("eval_pseudo_labels")} | threshold '
                    f'{pseudo.get("bg_thr", "n/a")}, CRF '
                    f'{"on" if pseudo.get("crf") else "off"} |')
        if self.irn_cfg is not None:
            refined = results.get('eval_refined', {})
            _, refined_text, refined_note = swept('eval_refined')
            rows.append(f'| pseudo masks, refined (IRN) | {self.eval_split} '
                        f'| {refined_text} | random walk on the CAM seeds, '
                        f'no CRF; {refined_note} |')
            if refined.get('crf') is not None:
                thr = self._refined_bg_thr(refined)
                rows.append(f'| pseudo masks, refined (IRN)+CRF | '
                            f'{self.eval_split} | '
                            f'{refined["crf"]["mIoU"]:.2f} | random walk, '
                            f'threshold {thr:g}, CRF on |')
        labels = 'cam' if self.stage2_labels == 'cam' else 'refined'
        rows.append(f'| segmentation | val | {miou("eval_seg")} | stage 2, '
                    f'trained on the {labels} pseudo masks |')
        seg_cam = results.get('eval_seg_cam', {}).get('mIoU')
        if seg_cam is not None:
            seg = results.get('eval_seg', {}).get('mIoU', math.nan)
            rows += [
                f'| segmentation, CAM masks | val | {seg_cam:.2f} | the same '
                'stage 2 trained on the cam pseudo masks |',
                f'| segmentation, refined - CAM masks | val | '
                f'{seg - seg_cam:+.2f} | same config, seed and iterations |'
            ]
        return rows


def baseline_config_of(cfg: Config) -> Optional[Config]:
    """The stage-1a baseline config a method config names, if any.

    A method config names the CAM baseline that initialises it with a
    top-level ``baseline_config``: a path relative to the config's own file
    (``'../toy/cam_r18-tiny_...py'``) or mmengine's ``'mmseg_wsss::...'``.

    Args:
        cfg (Config): A stage-1 config, loaded from its file.

    Returns:
        Config | None: The baseline config, None when ``cfg`` names none.

    Raises:
        FileNotFoundError: The named file does not exist; the message names
            the config that names it.
    """
    path = cfg.get('baseline_config')
    if path is None:
        return None
    if '::' not in path and not osp.isabs(path):
        path = osp.join(osp.dirname(cfg.filename), path)
    try:
        return Config.fromfile(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f'{cfg.filename}: baseline_config {cfg.baseline_config!r} not '
            f'found ({err})') from err


def _plain(value):
    """JSON-friendly copy of a metric value (numpy scalars -> float)."""
    if hasattr(value, 'item'):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
