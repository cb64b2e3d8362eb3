# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: what do time and memory of IRN's refinement of one image cost?

A VOC-sized image (500 x 375 by default) gives a 125 x 94 map at stride 4.
Variants, each in a fresh process:

- ``walk``: :func:`affinity_from_boundary` (radius 5) and
  :func:`random_walk` (beta 10, 2^8 sparse products) of K CAMs on a random
  boundary map at that size: the refinement's own cost.
- ``predict``: ``IRNSegmentor.predict()`` with IRN's ResNet-50 (random
  weights; the weights do not change the cost) and boundary head on the
  image and its mirror, plus the walk and the upsampling: one image of
  ``tools/test.py`` on ``configs/irn/irn_r50_voc.py``.

The table gives seconds and the peak resident memory above the level
before the measured work. The dense alternative, squaring the
(hw x hw) transition matrix ``exp_times`` times, is given by its size only
(three float32 matrices live while squaring): it is not run.

Usage::

    python benchmarks/bench_random_walk.py [--size 500 375] [--classes 3]
"""
import argparse
import json
import os.path as osp
import time

import common
import torch

CONFIG = osp.join(common.REPO_ROOT, 'configs', 'irn', 'irn_r50_voc.py')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(500, 375),
        metavar=('W', 'H'),
        help='image width and height')
    parser.add_argument(
        '--classes', type=int, default=3, help='CAMs (classes) per image')
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--no-write', action='store_true')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _walk(width: int, height: int, classes: int) -> None:
    from mmseg_wsss.models.utils import affinity_from_boundary, random_walk
    gen = torch.Generator().manual_seed(0)
    h, w = -(-height // 4), -(-width // 4)
    boundary = torch.rand(1, 1, h, w, generator=gen) * 0.5
    cams = torch.rand(1, classes, h, w, generator=gen)
    with torch.no_grad():
        affinities = affinity_from_boundary(boundary, 5)
        random_walk(cams, affinities, 5, beta=10, exp_times=8)


def _predict_setup(width: int, height: int, classes: int):
    """The VOC relation network without weights and one packed sample."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    gen = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, height, width), generator=gen)
    sample = SegDataSample()
    sample.set_metainfo(
        dict(
            img_path='bench.jpg',
            ori_shape=(height, width),
            img_shape=(height, width)))
    # the walk's input: the CAMs at stride 4 (LoadCAMFromFile's
    # strided_cams)
    sample.set_data(
        dict(
            strided_cams=torch.rand(
                classes, (height - 1) // 4 + 1, (width - 1) // 4 + 1,
                generator=gen),
            cam_classes=torch.arange(1, classes + 1)))
    return model, dict(inputs=[img], data_samples=[sample])


def child_main(spec: dict) -> None:
    """Seconds and peak memory of one variant in a fresh process."""
    args = parse_args(spec['argv'])
    common.setup()
    width, height = args.size
    if spec['variant'] == 'walk':

        def run():
            _walk(width, height, args.classes)
    else:
        model, data = _predict_setup(width, height, args.classes)

        def run():
            with torch.no_grad():
                model.test_step(data)

    start = time.perf_counter()
    peak = common.peak_rss_delta_mib(run)
    print(json.dumps(dict(seconds=time.perf_counter() - start, peak_mib=peak)))


def main() -> None:
    args = parse_args()
    if common.ran_as_child(args, child_main):
        return
    runs = common.child_runs(
        osp.abspath(__file__), ('walk', 'predict'), args.repeats)

    def med(name, key):
        return common.median([r[key] for r in runs[name]])

    width, height = args.size
    pixels = -(-width // 4) * -(-height // 4)
    dense_mib = pixels**2 * 4 / 2**20
    rows = [
        [
            'affinities + sparse random walk', f'{med("walk", "seconds"):.2f}',
            f'{med("walk", "peak_mib"):.0f}'
        ],
        [
            'IRNSegmentor.predict (ResNet-50 x flip + walk)',
            f'{med("predict", "seconds"):.2f}',
            f'{med("predict", "peak_mib"):.0f}'
        ],
        [
            'dense squaring (not run): 3 matrices of '
            f'{pixels} x {pixels}', '', f'{3 * dense_mib:.0f}'
        ],
    ]
    body = (f'One {width} x {height} image ({pixels} pixels at stride 4), '
            f'{args.classes} CAMs, radius 5, beta 10, 2^8 steps; '
            f'{args.repeats} round(s), each variant in a fresh process. '
            'Peak memory: VmHWM above the RSS before the measured work '
            '(for predict, after building the model).\n\n' +
            common.markdown_table(
                ['refinement of one image', 'seconds', 'peak RSS MiB'], rows) +
            '\n')
    common.append_results(
        'bench_random_walk.py: IRN refinement of one VOC-sized image',
        body,
        write=not args.no_write)


if __name__ == '__main__':
    main()
