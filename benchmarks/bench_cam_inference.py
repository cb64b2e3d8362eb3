# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: how fast is ``CAMSegmentor.predict()`` against a plain loop?

``predict()`` runs multi-scale (1.0, 0.5, 1.5, 2.0) + flip CAM inference,
batching each image with its mirror (one network call per scale), on the
model as ``init_model(..., prepare=True)`` gives it to the tools:
BatchNorm folded into the convolutions and channels-last weights
(``prepare_for_inference()``). The plain loop makes one call per scale and
flip at batch 1 on the model as built and normalises each class map in
Python. A third row runs ``predict()`` on the unprepared model, to separate
the two gains. All run on the toy ``train`` images one at a time (as the
test dataloader delivers them), without and with dense CRF
(``test_cfg.crf=dict()``). The table gives images/second, the speed-up over
the plain loop and how far each output is from the plain loop's, in units of
float32's own error there (the plain float32 loop against the same loop in
float64): rounding differences stay within a few units, a bug does not.

oneDNN (torch's CPU convolutions) builds a kernel the first time it meets a
shape and keeps it in a cache of 1024 by default; these images have many
sizes, so with that default the cache thrashes and whichever variant runs
first on an image pays the building. The script therefore runs with
``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` raised (steady state, the timed rounds),
and reports the first pass, where every shape is new, separately.

Usage::

    python benchmarks/bench_cam_inference.py [--images 20] [--repeats 5]
"""
import argparse
import copy
import functools
import os
import time

import common
import torch
import torch.nn.functional as F


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=common.DEFAULT_TOY_ROOT)
    parser.add_argument(
        '--images', type=int, default=20, help='toy train images used')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--checkpoint',
        help='weights of the toy CAM network (default: '
        'random init; speed does not depend on them)')
    parser.add_argument('--no-write', action='store_true')
    return parser.parse_args()


def test_batches(cfg, num_images: int, preprocessor) -> list:
    """Preprocessed single-image batches of the toy ``train`` split.

    Returns:
        list[tuple]: ``(inputs (1, 3, H, W), data_samples, rgb uint8
        (H, W, 3))`` per image.
    """
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    batches = []
    for i in range(min(num_images, len(dataset))):
        batch = pseudo_collate([dataset[i]])
        rgb = batch['inputs'][0].permute(1, 2, 0).numpy()[..., ::-1].copy()
        data = preprocessor(batch, training=False)
        batches.append((data['inputs'], data['data_samples'], rgb))
    return batches


def plain_loop(model, inputs, data_samples, rgb, crf=None) -> torch.Tensor:
    """Reference CAM inference, one network call per scale and flip.

    Returns:
        Tensor: Scores (C + 1, H, W) as ``predict()`` puts in
        ``seg_logits``.
    """
    cfg = model.test_cfg
    _, _, h, w = inputs.shape
    total = 0
    for scale in cfg.scales:
        x = inputs if scale == 1.0 else F.interpolate(
            inputs,
            size=(round(h * scale), round(w * scale)),
            mode='bilinear',
            align_corners=False)
        for flip in (False, True):
            cams = model.forward_cams(x.flip(-1) if flip else x)[0]
            cams = F.interpolate(
                F.relu(cams),
                size=(h, w),
                mode='bilinear',
                align_corners=False)
            total = total + (cams.flip(-1) if flip else cams)
    total = total[0]
    labels = data_samples[0].img_labels
    norm = torch.zeros_like(total)
    for c in range(total.shape[0]):
        if labels[c] > 0:
            norm[c] = total[c] / (total[c].max() + 1e-5)
    if crf is not None:
        return torch.from_numpy(crf(rgb, norm.numpy()))
    return torch.cat([norm.new_full((1, h, w), cfg.bg_thr), norm])


def plain_loop_batch(model, batch, crf=None) -> torch.Tensor:
    """:func:`plain_loop` on one ``(inputs, samples, rgb)`` batch."""
    return plain_loop(model, *batch, crf=crf)


def predict_one(model, batch, crf: bool = False) -> torch.Tensor:
    """``seg_logits`` (C + 1, H, W) of ``predict()`` on one image."""
    inputs, samples, _ = batch
    model.test_cfg.crf = dict() if crf else None
    try:
        return model.predict(inputs, samples)[0].seg_logits.data
    finally:
        model.test_cfg.crf = None


def main() -> None:
    args = parse_args()
    common.raise_onednn_cache()
    common.setup()
    common.ensure_toy_data(args.data_root)
    from mmseg_wsss.apis import init_model
    from mmseg_wsss.models.utils.prepare_for_inference import \
        prepare_for_inference
    from mmseg_wsss.postprocessing import DenseCRF
    cfg = common.toy_config('cam', args.data_root)
    cfg.model.test_cfg.update(
        dict(scales=(1.0, 0.5, 1.5, 2.0), flip=True, labels='gt'))
    torch.manual_seed(0)
    model = init_model(cfg, args.checkpoint)
    if not args.checkpoint:
        model.init_weights()
    # what init_model(..., prepare=True) gives the tools
    fast_model = prepare_for_inference(copy.deepcopy(model))
    batches = test_batches(cfg, args.images, model.data_preprocessor)
    crf = DenseCRF()

    fns = {
        'predict()': functools.partial(predict_one, fast_model),
        'predict(), unprepared model': functools.partial(predict_one, model),
        'plain loop': functools.partial(plain_loop_batch, model),
        'predict() + CRF':
        functools.partial(predict_one, fast_model, crf=True),
        'plain loop + CRF':
        functools.partial(plain_loop_batch, model, crf=crf),
    }
    with torch.no_grad():
        outputs, first_pass = {}, {}
        for name, fn in fns.items():
            start = time.perf_counter()
            outputs[name] = [fn(batch) for batch in batches]
            first_pass[name] = (time.perf_counter() - start) / len(batches)
        # the float32 runs against float64 truth: how exact can they be?
        model64 = copy.deepcopy(model).double()
        truth = [
            plain_loop(model64, b[0].double(), *b[1:]).float() for b in batches
        ]

        def max_diff(outs, refs):
            return max(float((a - b).abs().max()) for a, b in zip(outs, refs))

        errs = {
            name:
            (max_diff(outputs[name], outputs[ref]),
             max_diff(outputs[name], truth) if 'CRF' not in name else None)
            for name, ref in (('predict()', 'plain loop'),
                              ('predict(), unprepared model',
                               'plain loop'), ('plain loop', 'plain loop'),
                              ('predict() + CRF', 'plain loop + CRF'))
        }
        # float32's own error: the plain loop against itself in float64
        own_error = max(errs['plain loop'][1], float(torch.finfo().eps))
        # per image: every variant in turn, so load spikes hit all alike
        times = {name: [] for name in fns}
        for _ in range(args.repeats):
            for batch in batches:
                for name, fn in fns.items():
                    start = time.perf_counter()
                    fn(batch)
                    times[name].append(time.perf_counter() - start)

    num = len(batches)
    rows = []
    reference = {
        'predict()': 'plain loop',
        'predict(), unprepared model': 'plain loop',
        'plain loop': None,
        'predict() + CRF': 'plain loop + CRF',
        'plain loop + CRF': None,
    }
    for name, slow in reference.items():
        per_image = common.median(times[name])
        ratios = [b / a for a, b in zip(times[name], times[slow])
                  ] if slow else [1.0]
        vs_plain, vs_truth = errs.get(name, (None, None))
        rows.append([
            name, f'{1 / per_image:.1f}', f'{1000 * per_image:.1f}',
            f'{common.median(ratios):.2f}' if slow else '',
            f'{vs_plain:.1e} ({vs_plain / own_error:.1f})' if slow else '',
            f'{vs_truth:.1e}' if vs_truth is not None else '',
            f'{1000 * first_pass[name]:.1f}' if 'CRF' not in name else ''
        ])
    sizes = [tuple(b[0].shape[-2:]) for b in batches]
    weights = (f'checkpoint {args.checkpoint}'
               if args.checkpoint else 'random init')
    body = (
        f'{num} toy `train` images (sizes {min(sizes)}..{max(sizes)}), '
        f'batch 1, toy CAM network (r18-tiny, {weights}), scales (1.0, 0.5, '
        '1.5, 2.0) x flip, labels from the ground truth; predict() on the '
        'model prepared as init_model(..., prepare=True) does (BN folded, '
        'channels-last) unless marked unprepared; '
        f'{args.repeats} rounds over the images, every variant run in turn '
        'on each image (the correctness pass ran first, untimed); medians '
        'over all (round, image) timings. In brackets: the difference in '
        'units of float32\'s own error here, the plain float32 loop against '
        f'the plain loop run in float64 ({own_error:.1e}); the unprepared '
        'predict() runs the same kernels at batch 2 instead of 1, the '
        'prepared one other kernels (other rounding), and CRF iterations in '
        'float32 amplify the differences of the CAMs. The timed rounds '
        'run with ONEDNN_PRIMITIVE_CACHE_CAPACITY='
        f'{os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"]} (all kernels '
        'cached); the last column times the first (correctness) pass, '
        'where every shape is new to oneDNN (the CRF variants reuse those '
        'kernels, so they have no such column). '
        'Speed-up = median over (round, image) of plain time / predict '
        'time.\n\n' + common.markdown_table([
            'inference', 'images/s', 'ms/image (median)',
            'speed-up vs plain loop',
            'max abs diff vs plain loop (x float32 error)',
            'max abs diff vs float64 plain loop',
            'first pass ms/image (new shapes)'
        ], rows) + '\n')
    common.append_results(
        'bench_cam_inference.py: predict() vs a plain multi-scale loop',
        body,
        write=not args.no_write)


if __name__ == '__main__':
    main()
