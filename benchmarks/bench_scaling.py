# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: how does the method's step time grow with crop size and batch?

Seconds per training iteration of ``DualCAMSegmentor`` (RCM + MAM, toy
r18-tiny) and, for reference, ``CAMSegmentor``, at crops 64, 96, 128 (batch
8) and batches 2, 4, 8 (crop 96). Every configuration runs once per round,
interleaved, and the table gives medians (time per image and per pixel show
how far the cost is from linear).

Usage::

    python benchmarks/bench_scaling.py [--crops 64 96 128] [--batches 2 4 8]
"""
import argparse
import functools
import os

import common


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=common.DEFAULT_TOY_ROOT)
    parser.add_argument('--crops', type=int, nargs='+', default=[64, 96, 128])
    parser.add_argument('--batches', type=int, nargs='+', default=[2, 4, 8])
    parser.add_argument(
        '--crop-batch', type=int, default=8, help='batch of the crop sweep')
    parser.add_argument(
        '--batch-crop', type=int, default=96, help='crop of the batch sweep')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--no-write', action='store_true')
    return parser.parse_args()


def step_fn(name: str, crop: int, batch: int, data_root: str):
    """A training step of the toy ``name`` config at ``crop`` and ``batch``."""
    cfg = common.toy_config(name, data_root, crop, batch)
    if name != 'cam':
        cfg.model.train_cfg.self_sup_start_iter = 0
    model = common.build_model(cfg)
    optim_wrapper = common.build_optim_wrapper(model, cfg)
    inputs, samples = common.train_batch(cfg, batch)
    return functools.partial(common.train_step, model, optim_wrapper, inputs,
                             samples)


def main() -> None:
    args = parse_args()
    common.raise_onednn_cache()
    common.setup()
    common.ensure_toy_data(args.data_root)
    settings = sorted({(c, args.crop_batch)
                       for c in args.crops} | {(args.batch_crop, b)
                                               for b in args.batches})
    fns = {}
    for crop, batch in settings:
        for name in ('rcm_mam', 'cam'):
            fns[(name, crop, batch)] = step_fn(name, crop, batch,
                                               args.data_root)
    times = common.interleaved_times(fns, args.repeats)

    def rows_for(pairs):
        rows = []
        ref_crop, ref_batch = pairs[0]
        ref = common.median(times[('rcm_mam', ref_crop, ref_batch)])
        for crop, batch in pairs:
            method = common.median(times[('rcm_mam', crop, batch)])
            base = common.median(times[('cam', crop, batch)])
            method_runs = times[('rcm_mam', crop, batch)]
            base_runs = times[('cam', crop, batch)]
            ratios = [a / b for a, b in zip(method_runs, base_runs)]
            pixels = batch * crop * crop
            ref_pixels = ref_batch * ref_crop * ref_crop
            rows.append([
                f'{crop}x{crop}', batch, f'{method * 1000:.0f}',
                f'{method / ref:.2f}', f'{pixels / ref_pixels:.2f}',
                f'{method / batch * 1000:.1f}', f'{base * 1000:.0f}',
                f'{common.median(ratios):.2f}'
            ])
        return rows

    headers = [
        'crop', 'batch', 'method ms/iter', 'time x first row',
        'pixels x first row', 'method ms/image', 'baseline ms/iter',
        'method / baseline'
    ]
    crop_rows = rows_for([(c, args.crop_batch) for c in sorted(args.crops)])
    batch_rows = rows_for([(args.batch_crop, b) for b in sorted(args.batches)])
    body = (
        f'Toy r18-tiny configs (RCM + MAM from iteration 0), '
        f'{args.repeats} interleaved rounds after 1 warm-up round, medians; '
        'ONEDNN_PRIMITIVE_CACHE_CAPACITY='
        f'{os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"]} (with the default '
        '1024 the kernels of ten models and their scales do not fit and '
        'steps rebuild some: in a quiet run the method steps were then '
        '1.25-1.8x slower, the baseline unchanged).'
        f'\n\nCrop sweep at batch {args.crop_batch}:\n\n' +
        common.markdown_table(headers, crop_rows) +
        f'\n\nBatch sweep at crop {args.batch_crop}:\n\n' +
        common.markdown_table(headers, batch_rows) + '\n')
    common.append_results(
        'bench_scaling.py: method step time vs crop and batch',
        body,
        write=not args.no_write)


if __name__ == '__main__':
    main()
