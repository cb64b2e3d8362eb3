# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""How many bytes do exported CAMs take per 1,000 VOC-sized images?

``PseudoLabelWriter``'s ``cams`` output (:class:`CAMOutput`, what
``tools/make_pseudo_labels.py --save-cams`` writes) encodes drawn CAMs of
500 x 375 images, and the same arrays in an uncompressed ``np.savez`` for
comparison. The CAMs are drawn as the CAM network's export has them: per
image 1-3 present classes (VOC train_aug averages about 1.5), each map a
stride-16 field (32 x 24 cells: Gaussian blobs on a weak random floor)
upsampled bilinearly to the image (``cams``, float16) and to its stride-4
grid (``strided_cams``, float32, IRN's walk input), ReLU'd and divided by
its maximum. Sizes are extrapolated from ``--images`` drawn images to 1,000,
and to train_aug's 10,582.
"""
import argparse
import io
import os.path as osp
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from common import append_results, markdown_table, setup  # noqa: E402

from mmseg_wsss.evaluation.metrics.pseudo_label_writer import (  # noqa: E402
    CAMOutput, CAMPrediction)

HEIGHT, WIDTH, STRIDE, NUM_CLASSES = 375, 500, 16, 20
TRAIN_AUG = 10582


def draw_cams(rng: np.random.Generator) -> CAMPrediction:
    """One image's normalised CAMs of its present classes, as exported."""
    num = int(rng.choice([1, 1, 1, 2, 2, 3]))
    classes = np.sort(rng.choice(NUM_CLASSES, num, replace=False))
    h, w = -(-HEIGHT // STRIDE), -(-WIDTH // STRIDE)
    yy, xx = np.mgrid[0:h, 0:w]
    fields = []
    for _ in range(num):
        field = 0.1 * rng.random((h, w))
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            sy, sx = rng.uniform(1.5, h / 3), rng.uniform(1.5, w / 3)
            field += rng.uniform(0.5, 1.0) * np.exp(-((yy - cy) / sy)**2 / 2 -
                                                    ((xx - cx) / sx)**2 / 2)
        fields.append(field - rng.uniform(0.1, 0.3))

    def resized(size):
        maps = F.interpolate(
            torch.from_numpy(np.stack(fields)).float()[None],
            size=size,
            mode='bilinear',
            align_corners=False)[0].clamp(min=0)
        return (maps /
                maps.amax(dim=(1, 2), keepdim=True).clamp(min=1e-5)).numpy()

    pred = np.zeros((HEIGHT, WIDTH), np.uint8)
    strided = resized(((HEIGHT - 1) // 4 + 1, (WIDTH - 1) // 4 + 1))
    return CAMPrediction(
        'drawn.jpg',
        pred,
        resized((HEIGHT, WIDTH)),
        classes,
        NUM_CLASSES,
        strided_cams=strided)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-write', action='store_true')
    args = parser.parse_args()
    setup()
    rng = np.random.default_rng(args.seed)
    compressed = plain = classes = 0
    for _ in range(args.images):
        image = draw_cams(rng)
        compressed += len(CAMOutput().encode(image, []))
        buf = io.BytesIO()
        # the same arrays, uncompressed
        np.savez(
            buf,
            cams=image.cams.astype(np.float16),
            classes=(image.classes + 1).astype(np.uint8),
            strided_cams=image.strided_cams.astype(np.float32))
        plain += len(buf.getvalue())
        classes += len(image.classes)

    def per_1000(total):
        return total / args.images * 1000 / 2**20

    rows = [[
        name, f'{per_1000(total):.0f}',
        f'{per_1000(total) * TRAIN_AUG / 1000 / 1024:.2f}'
    ] for name, total in (('np.savez (uncompressed)', plain),
                          ('np.savez_compressed: CAMOutput', compressed))]
    body = markdown_table(
        ['file', 'MiB per 1,000 images', 'GiB for train_aug (10,582)'], rows)
    body += (f'\n\n{args.images} drawn 500 x 375 images, '
             f'{classes / args.images:.2f} present classes per image, '
             f'compressed / plain = {compressed / plain:.2f}; sizes '
             'extrapolated linearly from the drawn images.\n')
    append_results('CAM export size (bench_cam_export_size.py)', body,
                   not args.no_write)


if __name__ == '__main__':
    main()
