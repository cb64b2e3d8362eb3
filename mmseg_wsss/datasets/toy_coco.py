# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""A toy MS COCO 2014 in its published layout, and the truth of its
conversion (the toy COCO configs' data and the converter's test set).

``make_toy_coco(root)`` writes::

    root/train2014/COCO_train2014_{id:012d}.jpg     (14 images, <= 64 px)
    root/val2014/COCO_val2014_{id:012d}.jpg         (4 images)
    root/annotations/instances_{train,val}2014.json (the official schema)

The JSON lists all 80 categories (ids 1..90 with COCO's gaps); objects use
five of them, the first and last ids among them. Objects are polygons
(rectangles and triangles) or, for crowds, uncompressed RLEs; one train
image has a crowd partly under an object, one has overlapping objects, one
train and one val image have no annotation. The truth is computed here
from the geometry, not by pycocotools. ``tools/misc/make_toy_coco.py``
writes and converts it (``configs/toy/*toycoco*`` read it).
"""
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np
from PIL import Image

from .coco_wsss import WeakCOCODataset

# the five categories used: (COCO id, name, label 1..80 counted by hand:
# the id minus the gaps below it, 12 26 29 30 45)
USED = ((1, 'person', 1), (3, 'car', 3), (18, 'dog', 17), (59, 'pizza', 54),
        (90, 'toothbrush', 80))
GAPS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
COLOURS = {
    1: (220, 40, 40),
    3: (40, 200, 40),
    18: (40, 40, 220),
    59: (220, 200, 40),
    90: (200, 40, 200)
}


def _categories() -> List[dict]:
    """All 80 categories of the official files. Their names come from the
    package's class list (the converter checks them); the five used are
    checked against the names written above."""
    names = WeakCOCODataset.METAINFO['classes'][1:]
    ids = [i for i in range(1, 91) if i not in GAPS]
    assert len(ids) == 80
    used = {cid: name for cid, name, _ in USED}
    cats = []
    for cid, name in zip(ids, names):
        assert used.get(cid, name) == name, (cid, name)
        cats.append(dict(supercategory='thing', id=cid, name=name))
    return cats


def _inside(poly: np.ndarray, h: int, w: int) -> np.ndarray:
    """Pixels whose centre lies inside the polygon (crossing number)."""
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    inside = np.zeros((h, w), bool)
    n = len(poly)
    for i in range(n):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % n]
        crosses = (y0 > ys) != (y1 > ys)
        with np.errstate(divide='ignore', invalid='ignore'):
            x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xs < x_at)
    return inside


def _near_edge(poly: np.ndarray, h: int, w: int, dist: float = 1.0):
    """Pixels whose centre is within ``dist`` of an edge of the polygon."""
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    near = np.zeros((h, w), bool)
    n = len(poly)
    for i in range(n):
        p0, p1 = poly[i], poly[(i + 1) % n]
        d = p1 - p0
        t = ((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / (d @ d)
        t = np.clip(t, 0, 1)
        px, py = p0[0] + t * d[0], p0[1] + t * d[1]
        near |= np.hypot(xs - px, ys - py) < dist
    return near


def _rle(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE of a binary mask (column-major runs, starting
    with a run of zeros)."""
    flat = mask.flatten(order='F').astype(np.uint8)
    counts, value, run = [], 0, 0
    for v in flat:
        if v == value:
            run += 1
        else:
            counts.append(run)
            value, run = v, 1
    counts.append(run)
    return dict(counts=[int(c) for c in counts], size=list(mask.shape))


def _shape(rng, h: int, w: int) -> np.ndarray:
    """A rectangle or a triangle inside the image, (K, 2) xy."""
    x0, y0 = rng.integers(2, w // 2), rng.integers(2, h // 2)
    x1, y1 = rng.integers(x0 + 8, w - 1), rng.integers(y0 + 8, h - 1)
    if rng.random() < 0.5:
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    return np.array([[x0, y1], [(x0 + x1) / 2, y0], [x1, y1]], float)


# per image: list of (category id, 'poly' | 'crowd'); None: no annotation
TRAIN = [[(1, 'poly')], [(3, 'poly'), (18, 'poly')],
         [(1, 'crowd'), (18, 'poly')], [(59, 'poly')], [(90, 'poly')], None,
         [(18, 'poly'), (1, 'poly')], [(3, 'poly')], [(1, 'poly'),
                                                      (59, 'poly')],
         [(90, 'poly'), (3, 'poly')], [(18, 'poly')], [(1, 'poly')],
         [(59, 'poly'), (90, 'poly')], [(3, 'poly'), (1, 'poly')]]
VAL = [[(1, 'poly'), (18, 'poly')], None, [(3, 'poly'), (59, 'poly')],
       [(90, 'poly'), (1, 'crowd')]]


def make_toy_coco(
    root: str,
    seed: int = 0,
    num_train: int = len(TRAIN),
    num_val: int = len(VAL)
) -> Dict[str, dict]:
    """Write the toy COCO 2014 under ``root``: the first
    ``num_train`` train and ``num_val`` val images of the lists above.

    Returns:
        dict: image name -> ``split`` ('train2014' | 'val2014'),
        ``mask`` (uint8 (H, W): 0, labels 1..80, 255 on uncovered crowd),
        ``crowd`` (bool (H, W), uncovered crowd pixels), ``care`` (bool
        (H, W), pixels farther than 1 px from any polygon edge) and
        ``labels`` (float32 (80,)).
    """
    rng = np.random.default_rng(seed)
    label_of = {cid: label for cid, _, label in USED}
    truth = {}
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    ann_id = 1
    for split, specs, first_id in (('train2014', TRAIN[:num_train], 9),
                                   ('val2014', VAL[:num_val], 42)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for k, spec in enumerate(specs):
            img_id = first_id + 7 * k
            h, w = int(rng.integers(40, 65)), int(rng.integers(40, 65))
            name = f'COCO_{split}_{img_id:012d}'
            pixels = rng.integers(90, 140, (h, w, 3)).astype(np.uint8)
            mask = np.zeros((h, w), np.uint8)
            crowd = np.zeros((h, w), bool)
            care = np.ones((h, w), bool)
            labels = np.zeros(80, np.float32)
            for cid, kind in spec or []:
                poly = _shape(rng, h, w)
                region = _inside(poly, h, w)
                labels[label_of[cid] - 1] = 1
                if kind == 'crowd':
                    # an exact pixel region, not a polygon: no edge band
                    segmentation = _rle(region)
                    crowd |= region
                else:
                    segmentation = [poly.flatten().tolist()]
                    mask[region] = label_of[cid]
                    care &= ~_near_edge(poly, h, w)
                pixels[region] = COLOURS[cid]
                x, y = poly.min(0)
                bw, bh = poly.max(0) - poly.min(0)
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=img_id,
                        category_id=cid,
                        segmentation=segmentation,
                        area=float(region.sum()),
                        bbox=[float(x),
                              float(y),
                              float(bw),
                              float(bh)],
                        iscrowd=int(kind == 'crowd')))
                ann_id += 1
            uncovered = crowd & (mask == 0)
            mask[uncovered] = 255
            Image.fromarray(pixels).save(
                osp.join(root, split, name + '.jpg'), quality=95)
            images.append(
                dict(
                    id=img_id,
                    file_name=name + '.jpg',
                    height=h,
                    width=w,
                    license=1,
                    coco_url='',
                    date_captured='2013-11-14 16:28:13',
                    flickr_url=''))
            truth[name] = dict(
                split=split,
                mask=mask,
                crowd=uncovered,
                care=care,
                labels=labels)
        content = dict(
            info=dict(description='mini COCO 2014', version='1.0', year=2014),
            licenses=[dict(id=1, name='test', url='')],
            images=images,
            annotations=annotations,
            categories=_categories())
        with open(
                osp.join(root, 'annotations', f'instances_{split}.json'),
                'w') as f:
            json.dump(content, f)
    return truth
