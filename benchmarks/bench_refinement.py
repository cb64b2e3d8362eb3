# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: do IRN's refined pseudo masks beat the CAM and CAM+CRF ones, and
does DeepLab trained on them beat DeepLab trained on the unrefined ones?

Per seed, one ``tools/run_pipeline.py`` run (a fresh process) with the
stage 1 of ``make demo`` (``--stage1 method``: the toy RCM + MAM config
staged on its CAM baseline, 300 + 300 iterations) or the toy CAM baseline
alone (``--stage1 cam``, 300 iterations, ``--no-baseline``), ``--crf`` and
the toy IRN config: CAM, CAM+CRF,
refined and refined+CRF pseudo-mask mIoU on the split with masks, and
DeepLab (stage 2) on the refined+CRF masks, mIoU on val. A second run in a
sibling folder reuses that run's stage-1 results and trains DeepLab on the
CAM+CRF masks (``--stage2-labels cam``) with the same seed and iterations.
All configs of a run get the seed (``randomness.seed``).

Reports per seed and mean with the standard error of the paired differences
(std / sqrt(n)), and the refinement's seconds per image (walk + CRF,
``refined_labels``) against the CAM export's (CAMs + CRF, ``pseudo_labels``)
as a ratio measured in the same run.

Any VOC-layout data root works (``--data-root``); without one, the toy set
is drawn into /tmp/bench_toy if missing. The default (3 seeds) takes about
25 minutes on 2 cores with ``--jobs 2`` (two seeds at once).

Usage::

    python benchmarks/bench_refinement.py [--seeds 0 1 2] [--jobs 2] \
        [--stage1 cam]
    python benchmarks/bench_refinement.py --work-dir /tmp/bench_refinement \
        --cfg-options-irn model.test_cfg.exp_times=6
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Sequence

import common
import numpy as np

CONFIGS = osp.join(common.REPO_ROOT, 'configs')
STAGE_1_CONFIGS = dict(
    method=osp.join(CONFIGS, 'toy', common.TOY_CONFIGS['rcm_mam']),
    cam=osp.join(CONFIGS, 'toy', common.TOY_CONFIGS['cam']))
SEG_CONFIG = osp.join(CONFIGS, 'toy',
                      'deeplabv3plus_r18-tiny_1xb8-300it_toyvoc-96x96.py')
IRN_CONFIG = osp.join(CONFIGS, 'irn',
                      'irn_r18-tiny_1xb8-300it_toyvoc-192x192.py')
# stage-1 steps the second run of a seed reuses
STAGE_1_STEPS = ('train_baseline', 'eval_baseline', 'train_cams', 'eval_cams',
                 'pseudo_labels', 'eval_pseudo_labels')
ROWS = (('CAM', 'cam'), ('CAM+CRF', 'cam_crf'), ('refined', 'refined'),
        ('refined+CRF', 'refined_crf'))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--stage1',
        choices=tuple(STAGE_1_CONFIGS),
        default='method',
        help="the CAMs: make demo's staged RCM + MAM network (default) or "
        'the CAM baseline alone')
    parser.add_argument(
        '--data-root',
        default=common.DEFAULT_TOY_ROOT,
        help='VOC-layout data root (default: the toy set, drawn if missing)')
    parser.add_argument(
        '--work-dir',
        default='/tmp/bench_refinement',
        help='runs go to WORK_DIR/seed{N}[_cam]; finished steps are kept '
        'and skipped when run again')
    parser.add_argument(
        '--jobs', type=int, default=1, help='seeds run at once (default 1)')
    parser.add_argument(
        '--cfg-options-irn',
        nargs='+',
        default=[],
        help='overrides of the IRN config (key=value), for every seed')
    parser.add_argument(
        '--no-write',
        action='store_true',
        help='print the results without appending them to RESULTS.md')
    return parser.parse_args(argv)


def pipeline(args: argparse.Namespace,
             work_dir: str,
             seed: int,
             steps: List[str],
             extra: Sequence[str] = ()) -> None:
    """Run ``tools/run_pipeline.py`` in a fresh process; log to a file."""
    seed_opt = f'randomness.seed={seed}'
    baseline = (['--no-baseline'] if args.stage1 == 'cam' else
                ['--cfg-options-baseline', seed_opt])
    cmd = [
        sys.executable,
        osp.join(common.REPO_ROOT, 'tools',
                 'run_pipeline.py'), STAGE_1_CONFIGS[args.stage1], SEG_CONFIG,
        '--work-dir', work_dir, '--data-root', args.data_root, '--crf',
        '--irn-config', IRN_CONFIG, '--steps', *steps, *baseline,
        '--cfg-options-stage1', seed_opt, '--cfg-options-stage2', seed_opt,
        '--cfg-options-irn', seed_opt, *args.cfg_options_irn, *extra
    ]
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'bench.log'), 'a') as log:
        proc = subprocess.run(
            cmd, cwd=common.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f'pipeline of seed {seed} failed; see '
                           f'{osp.join(work_dir, "bench.log")}')


def step_result(work_dir: str, step: str) -> dict:
    with open(osp.join(work_dir, 'steps', f'{step}.json')) as f:
        return json.load(f)


def run_seed(seed: int, args: argparse.Namespace) -> Dict[str, float]:
    """Both runs of one seed; their figures."""
    refined_dir = osp.join(args.work_dir, f'seed{seed}')
    pipeline(args, refined_dir, seed, [
        *STAGE_1_STEPS, 'relation_labels', 'train_irn', 'eval_refined',
        'refined_labels', 'train_seg', 'eval_seg'
    ])
    # the second run: DeepLab on the CAM+CRF masks of the first
    cam_dir = osp.join(args.work_dir, f'seed{seed}_cam')
    os.makedirs(osp.join(cam_dir, 'steps'), exist_ok=True)
    for step in STAGE_1_STEPS:
        if not osp.exists(osp.join(refined_dir, 'steps', f'{step}.json')):
            continue  # no stage 1a with --stage1 cam
        shutil.copy(
            osp.join(refined_dir, 'steps', f'{step}.json'),
            osp.join(cam_dir, 'steps'))
    link = osp.join(cam_dir, 'pseudo_labels')
    if not osp.exists(link):
        os.symlink(osp.join(refined_dir, 'pseudo_labels'), link)
    pipeline(
        args,
        cam_dir,
        seed, ['train_seg', 'eval_seg'],
        extra=['--stage2-labels', 'cam'])

    refined = step_result(refined_dir, 'eval_refined')
    relation = step_result(refined_dir, 'relation_labels')
    export = step_result(refined_dir, 'pseudo_labels')
    refine = step_result(refined_dir, 'refined_labels')
    return dict(
        cam=relation['plain']['mIoU'],
        cam_crf=step_result(refined_dir, 'eval_pseudo_labels')['mIoU'],
        refined=refined['mIoU'],
        refined_crf=refined['crf']['mIoU'],
        seg_refined=step_result(refined_dir, 'eval_seg')['mIoU'],
        seg_cam=step_result(cam_dir, 'eval_seg')['mIoU'],
        refine_s_per_img=refine['seconds_per_image'],
        export_s_per_img=1 / export['images_per_second'])


def mean_se(values: List[float]) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return f'{values.mean():+.2f}'
    se = values.std(ddof=1) / np.sqrt(len(values))
    return f'{values.mean():+.2f} ± {se:.2f}'


def report(args: argparse.Namespace, runs: Dict[int, dict]) -> str:
    seeds = sorted(runs)
    header = ['measure'] + [f'seed {s}' for s in seeds] + ['mean']

    def row(label, key):
        values = [runs[s][key] for s in seeds]
        return [label] + [f'{v:.2f}'
                          for v in values] + [f'{np.mean(values):.2f}']

    def diff_row(label, a, b):
        values = [runs[s][a] - runs[s][b] for s in seeds]
        return [label] + [f'{v:+.2f}' for v in values] + [mean_se(values)]

    masks = [row(label, key) for label, key in ROWS] + [
        diff_row('refined - CAM', 'refined', 'cam'),
        diff_row('refined+CRF - CAM+CRF', 'refined_crf', 'cam_crf'),
        diff_row('refined - CAM+CRF', 'refined', 'cam_crf')
    ]
    seg = [
        row('DeepLab on refined+CRF', 'seg_refined'),
        row('DeepLab on CAM+CRF', 'seg_cam'),
        diff_row('difference', 'seg_refined', 'seg_cam')
    ]
    ratios = [
        runs[s]['refine_s_per_img'] / runs[s]['export_s_per_img']
        for s in seeds
    ]
    timing = ', '.join(f'seed {s}: {runs[s]["refine_s_per_img"]:.3f} vs '
                       f'{runs[s]["export_s_per_img"]:.3f} s ({r:.2f}x)'
                       for s, r in zip(seeds, ratios))
    return '\n\n'.join([
        'Pseudo-mask mIoU (%) on the split with masks (toy: train), each '
        'seed its own CAM network, IRN and DeepLab; differences are paired '
        'per seed (mean ± standard error):',
        common.markdown_table(header, masks),
        'DeepLab (stage 2, same seed and iterations) mIoU (%) on val:',
        common.markdown_table(header, seg),
        'Refinement (boundary map, walk and CRF) vs CAM export (CAMs and '
        f'CRF), seconds per image in the same run: {timing}; mean ratio '
        f'{np.mean(ratios):.2f}x.',
        f'Stage 1: {args.stage1} ({osp.basename(STAGE_1_CONFIGS[args.stage1])}'
        f'); IRN overrides: {" ".join(args.cfg_options_irn) or "none"}.',
    ])


def main() -> None:
    args = parse_args()
    common.check_data_root(
        args.data_root, make_toy=args.data_root == common.DEFAULT_TOY_ROOT)
    if args.jobs > 1:
        # idle OpenMP threads of one run must not spin on the other's core
        os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'
        os.environ.setdefault('OMP_NUM_THREADS', '1')
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = dict(
            zip(args.seeds, pool.map(lambda s: run_seed(s, args), args.seeds)))
    common.append_results(
        'bench_refinement.py: CAM, CAM+CRF and IRN-refined pseudo masks, '
        'and DeepLab on them',
        report(args, runs),
        write=not args.no_write)


if __name__ == '__main__':
    main()
