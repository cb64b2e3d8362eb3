# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Draw a small, deterministic PASCAL VOC-like data set for tests and demos.

The layout is exactly VOC 2012's (plus SBD's ``SegmentationClassAug`` and
IRN's ``cls_labels.npy``)::

    out_dir/
        JPEGImages/{name}.jpg           every image, 64..128 px per side
        SegmentationClass/{name}.png    'P' mode, VOC palette: train + val
        SegmentationClassAug/{name}.png 'L' mode (as SBD's): train_aug + val
        Annotations/{name}.xml          VOC XML, one <object> per object
        ImageSets/Segmentation/{train_aug,train,val}.txt
        cls_labels.npy                  IRN style: name -> float32 (20,)
        toy_voc.json                    generation parameters (marks the set)

``train`` is the first ``num_train`` images of ``train_aug``; ``val`` is
disjoint. Five VOC classes appear, 1-3 objects per image (sometimes of two
classes). In the default style ('shapes') each class has its own shape and
colour or texture, on cluttered backgrounds of noise, stripes and blobs; the
'parts' style draws CAM's documented failure modes instead (see
:data:`STYLES`). Masks carry a 255 band along every
label boundary, as VOC's do. The same arguments give byte-identical files.

From the command line: ``python tools/misc/make_toy_voc.py data/toy_voc``.
"""
import json
import os
import os.path as osp
import shutil
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image, ImageDraw

from mmseg_wsss.utils import IGNORE_INDEX, VOC_CLASSES, voc_palette

# (class name, shape, base RGB colour, texture); each class differs from the
# others in shape and in colour or texture, so both cues can be learnt.
TOY_CLASSES = (
    ('aeroplane', 'triangle', (200, 40, 40), 'solid'),
    ('bus', 'rectangle', (220, 200, 40), 'stripes'),
    ('cat', 'ellipse', (230, 130, 40), 'spots'),
    ('person', 'cross', (40, 60, 200), 'solid'),
    ('tvmonitor', 'diamond', (40, 200, 200), 'checker'),
)
MARKER_FILE = 'toy_voc.json'
_OWNED = ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
          'Annotations', 'ImageSets', 'cls_labels.npy', MARKER_FILE)


def _background(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    """A muted random background with stripes and blobs in random colours."""
    tint = rng.integers(-25, 26, size=3)
    base = np.clip(rng.integers(70, 190) + tint, 0, 255)
    yy, xx = np.mgrid[0:h, 0:w]
    slope = rng.uniform(-0.4, 0.4, size=2)
    shade = (yy * slope[0] + xx * slope[1])[..., None]
    img = Image.fromarray(np.clip(base + shade, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(1, 5)):
        x0, x1 = rng.integers(-w // 2, w + w // 2, size=2)
        y0, y1 = rng.integers(-h // 2, h + h // 2, size=2)
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.line([(x0, y0), (x1, y1)],
                  fill=colour,
                  width=int(rng.integers(2, 7)))
    for _ in range(rng.integers(2, 7)):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        rx, ry = rng.integers(3, 11, size=2)
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=colour)
    return img


def _shape_mask(shape: str, box: tuple, rng: np.random.Generator, h: int,
                w: int) -> np.ndarray:
    """A boolean (h, w) mask of one shape drawn inside ``box``."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = (x1 - x0) / 2, (y1 - y0) / 2
    canvas = Image.new('L', (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    if shape == 'triangle':
        start = rng.uniform(0, 2 * np.pi)
        angles = start + np.array([0, 2, 4]) * np.pi / 3
        draw.polygon([(cx + rx * np.cos(a), cy + ry * np.sin(a))
                      for a in angles],
                     fill=1)
    elif shape == 'rectangle':
        draw.rectangle([x0, cy - ry * 0.6, x1, cy + ry * 0.6], fill=1)
    elif shape == 'ellipse':
        draw.ellipse([x0, y0 + ry * 0.2, x1, y1 - ry * 0.2], fill=1)
    elif shape == 'cross':
        draw.rectangle([cx - rx / 3, y0, cx + rx / 3, y1], fill=1)
        draw.rectangle([x0, cy - ry / 3, x1, cy + ry / 3], fill=1)
    else:
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=1)
    return np.asarray(canvas, dtype=bool)


def _texture(kind: str, colour: tuple, rng: np.random.Generator, h: int,
             w: int) -> np.ndarray:
    """An (h, w, 3) float texture of a class colour with jitter."""
    colour = np.clip(np.array(colour) + rng.integers(-25, 26, size=3), 0, 255)
    tex = np.broadcast_to(colour, (h, w, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == 'stripes':
        tex = np.where(((yy // 2) % 3 == 0)[..., None], tex * 0.3, tex)
    elif kind == 'spots':
        spots = rng.random((h // 3 + 1, w // 3 + 1)) < 0.25
        tex = np.where(spots[yy // 3, xx // 3][..., None], tex * 0.45, tex)
    elif kind == 'checker':
        cells = ((yy // 4 + xx // 4) % 2 == 0)[..., None]
        tex = np.where(cells, np.float32(230), tex)
    return tex


def _boundary(label: np.ndarray) -> np.ndarray:
    """Pixels with a differently labelled 8-neighbour: VOC's ignore band."""
    padded = np.pad(label, 1, mode='edge')
    h, w = label.shape
    band = np.zeros_like(label, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            band |= padded[dy:dy + h, dx:dx + w] != label
    return band


def _iou(a: tuple, b: tuple) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]))
    return inter / (area - inter)


def _place_box(rng: np.random.Generator, h: int, w: int, boxes: list,
               rel_size: tuple, max_iou: float):
    """A box of side ``rel_size`` x the image's shorter side overlapping
    none of ``boxes`` by more than ``max_iou``, or None after 20 tries.

    Rejection sampling keeps objects from hiding each other.
    """
    for _ in range(20):
        size = rng.uniform(*rel_size) * min(h, w)
        aspect = rng.uniform(0.75, 1.33)
        bw, bh = size * aspect, size / aspect
        x0 = rng.uniform(0, w - bw)
        y0 = rng.uniform(0, h - bh)
        box = (x0, y0, x0 + bw, y0 + bh)
        if all(_iou(box, other) < max_iou for other in boxes):
            return box
    return None


def _choose_classes(rng: np.random.Generator, max_objects: int):
    """One or two classes and the class of each of 1..``max_objects``."""
    num_classes = 1 if rng.random() < 0.7 else 2
    chosen = rng.choice(len(TOY_CLASSES), num_classes, replace=False)
    num_objects = int(rng.integers(num_classes, max_objects + 1))
    kinds = list(chosen) + list(rng.choice(chosen, num_objects - num_classes))
    return chosen, kinds


def _finish_sample(rng: np.random.Generator, img: np.ndarray,
                   label: np.ndarray, instance: np.ndarray, drawn: list):
    """Add sensor noise, the ignore band and the objects' boxes.

    Returns:
        tuple: RGB uint8 image (H, W, 3), uint8 mask (H, W) with 0, VOC
        class indices and 255, and a list of (class name, box, difficult)
        of the visible objects.
    """
    img += rng.normal(0, 10, size=img.shape) * rng.uniform(0.5, 1.5)
    img = np.clip(img * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)
    label[_boundary(label)] = IGNORE_INDEX

    objects = []
    for name, inst_id in drawn:
        visible = (instance == inst_id) & (label != IGNORE_INDEX)
        if not visible.any():
            continue
        ys, xs = np.nonzero(instance == inst_id)
        # VOC boxes are 1-based and inclusive.
        bbox = (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1,
                int(ys.max()) + 1)
        objects.append((name, bbox, int(visible.sum() < 150)))
    return img, label, objects


def _draw_sample(rng: np.random.Generator, min_size: int, max_size: int):
    """Draw one image of the 'shapes' style; returns as
    :func:`_finish_sample`."""
    h, w = (int(v) for v in rng.integers(min_size, max_size + 1, size=2))
    img = np.asarray(_background(rng, h, w), dtype=np.float32).copy()
    label = np.zeros((h, w), dtype=np.uint8)
    instance = np.zeros((h, w), dtype=np.int32)

    _, kinds = _choose_classes(rng, max_objects=3)
    boxes, drawn = [], []
    for kind in kinds:
        name, shape, colour, texture = TOY_CLASSES[kind]
        box = _place_box(rng, h, w, boxes, (0.3, 0.6), max_iou=0.2)
        if box is None:
            continue
        boxes.append(box)
        mask = _shape_mask(shape, box, rng, h, w)
        img[mask] = _texture(texture, colour, rng, h, w)[mask]
        label[mask] = VOC_CLASSES.index(name)
        drawn.append((name, len(drawn) + 1))
        instance[mask] = len(drawn)
    return _finish_sample(rng, img, label, instance, drawn)


# The 'parts' style draws CAM's two documented failure modes. An object is a
# large body whose colour is mostly shared by all classes (a 30 % tint of
# the class colour and the class shape are its only, weak, cues; bodies
# without a part clutter half of the backgrounds as decoys) plus a small part
# in the class's own colour and texture: the discriminative part. The first
# class co-occurs with a sky background.
BODY_COLOURS = ((150, 120, 100), (120, 130, 150), (140, 140, 110), (110, 140,
                                                                    120))
BODY_TINT = 0.3
PART_RADIUS = (0.3, 0.45)  # of the body's half size
SKY_PROB = (0.85, 0.1)  # with the co-occurring class / without it


def _sky(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A blue vertical gradient with soft light clouds, float (h, w, 3)."""
    top = np.array([60, 110, 200]) + rng.integers(-15, 16, size=3)
    bottom = np.array([150, 190, 235]) + rng.integers(-15, 16, size=3)
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (top * (1 - t) + bottom * t) * np.ones((1, w, 1))
    canvas = Image.new('L', (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(1, 4)):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        rx, ry = rng.integers(6, 20), rng.integers(3, 8)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    cloud = np.asarray(canvas, dtype=np.float32)[..., None] / 255 * 0.6
    return sky * (1 - cloud) + 240 * cloud


def _draw_part_sample(rng: np.random.Generator, min_size: int, max_size: int):
    """Draw one image of the 'parts' style; returns as
    :func:`_finish_sample`."""
    h, w = (int(v) for v in rng.integers(min_size, max_size + 1, size=2))
    chosen, kinds = _choose_classes(rng, max_objects=2)
    sky_prob = SKY_PROB[0] if 0 in chosen else SKY_PROB[1]
    if rng.random() < sky_prob:
        img = _sky(rng, h, w)
    else:
        img = np.asarray(_background(rng, h, w), dtype=np.float32).copy()
    label = np.zeros((h, w), dtype=np.uint8)
    instance = np.zeros((h, w), dtype=np.int32)
    num_decoys = int(rng.random() < 0.5)
    boxes, drawn = [], []
    yy, xx = np.mgrid[0:h, 0:w]
    for kind in [None] * num_decoys + kinds:
        box = _place_box(rng, h, w, boxes, (0.4, 0.7), max_iou=0.1)
        if box is None:
            continue
        boxes.append(box)
        shape_kind = rng.integers(len(TOY_CLASSES)) if kind is None else kind
        body = _shape_mask(TOY_CLASSES[shape_kind][1], box, rng, h, w)
        base = BODY_COLOURS[rng.integers(len(BODY_COLOURS))]
        colour = tuple(
            int((1 - BODY_TINT) * b + BODY_TINT * t)
            for b, t in zip(base, TOY_CLASSES[shape_kind][2]))
        img[body] = _texture('solid', colour, rng, h, w)[body]
        if kind is None:
            continue
        name, _, part_colour, texture = TOY_CLASSES[kind]
        ys, xs = np.nonzero(body)
        centre = rng.integers(len(ys))
        radius = rng.uniform(*PART_RADIUS) * min(box[2] - box[0],
                                                 box[3] - box[1]) / 2
        part = ((yy - ys[centre])**2 +
                (xx - xs[centre])**2 <= radius**2) & body
        img[part] = _texture(texture, part_colour, rng, h, w)[part]
        label[body] = VOC_CLASSES.index(name)
        drawn.append((name, len(drawn) + 1))
        instance[body] = len(drawn)
    return _finish_sample(rng, img, label, instance, drawn)


#: Drawing functions of the styles of :func:`make_toy_voc`.
STYLES = dict(shapes=_draw_sample, parts=_draw_part_sample)


def _xml_bytes(name: str, shape: tuple, objects: list,
               segmented: bool) -> bytes:
    """A VOC XML annotation for one image."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'VOC2012'
    ET.SubElement(root, 'filename').text = f'{name}.jpg'
    size = ET.SubElement(root, 'size')
    height, width, depth = shape
    for key, value in zip(('width', 'height', 'depth'),
                          (width, height, depth)):
        ET.SubElement(size, key).text = str(value)
    ET.SubElement(root, 'segmented').text = str(int(segmented))
    for cls_name, bbox, difficult in objects:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = cls_name
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = str(difficult)
        box = ET.SubElement(obj, 'bndbox')
        for key, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), bbox):
            ET.SubElement(box, key).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8') + b'\n'


def _prepare_out_dir(out_dir: str) -> None:
    """Create ``out_dir``, or clear an earlier toy set in it.

    Raises:
        FileExistsError: ``out_dir`` is not empty and holds no toy set, so
            it is left alone.
    """
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not osp.isfile(osp.join(out_dir, MARKER_FILE)):
            raise FileExistsError(
                f'{out_dir} is not empty and has no {MARKER_FILE}: refusing '
                'to write a toy data set over it')
        for entry in _OWNED:
            path = osp.join(out_dir, entry)
            if osp.isdir(path):
                shutil.rmtree(path)
            elif osp.exists(path):
                os.remove(path)
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'Annotations', osp.join('ImageSets', 'Segmentation')):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)


def make_toy_voc(out_dir: str,
                 seed: int = 0,
                 num_train_aug: int = 200,
                 num_train: int = 60,
                 num_val: int = 60,
                 min_size: int = 64,
                 max_size: int = 128,
                 style: str = 'shapes') -> dict:
    """Write the toy VOC data set to ``out_dir``.

    Args:
        out_dir (str): Output directory; created if needed. An earlier toy
            set there (marked by ``toy_voc.json``) is replaced; any other
            non-empty directory is refused.
        seed (int): Random seed; the same arguments give byte-identical
            files. Defaults to 0.
        num_train_aug (int): Images in ``train_aug``. Defaults to 200.
        num_train (int): Images of ``train_aug`` that also form ``train``
            and get ``SegmentationClass`` masks. Defaults to 60.
        num_val (int): Images in ``val``, disjoint from ``train_aug``.
            Defaults to 60.
        min_size (int): Smallest image side in pixels. Defaults to 64.
        max_size (int): Largest image side in pixels. Defaults to 128.
        style (str): 'shapes' (the embedded set: each class has its own
            shape and colour or texture) or 'parts' (CAM's failure modes:
            weakly class-specific bodies with a small discriminative part,
            decoy bodies, a background co-occurring with one class).
            Defaults to 'shapes'.

    Returns:
        dict: Split name -> list of image names.
    """
    if not 0 < num_train <= num_train_aug or num_val < 1:
        raise ValueError('need 0 < num_train <= num_train_aug and '
                         f'num_val >= 1, got {num_train}, {num_train_aug}, '
                         f'{num_val}')
    if style not in STYLES:
        raise ValueError(f'style must be one of {sorted(STYLES)}, got '
                         f'{style!r}')
    if not 8 <= min_size <= max_size:
        raise ValueError(f'need 8 <= min_size <= max_size, got {min_size}, '
                         f'{max_size}')
    _prepare_out_dir(out_dir)
    rng = np.random.default_rng(seed)
    palette = voc_palette()
    # VOC-like names ('year_number') so IRN's integer encoding works too.
    train_aug = [f'2000_{i:06d}' for i in range(1, num_train_aug + 1)]
    val = [f'2001_{i:06d}' for i in range(1, num_val + 1)]
    splits = dict(train_aug=train_aug, train=train_aug[:num_train], val=val)
    with_class_masks = set(splits['train']) | set(val)

    cls_labels = {}
    for name in train_aug + val:
        img, label, objects = STYLES[style](rng, min_size, max_size)
        Image.fromarray(img).save(
            osp.join(out_dir, 'JPEGImages', f'{name}.jpg'), quality=90)
        Image.fromarray(label).save(
            osp.join(out_dir, 'SegmentationClassAug', f'{name}.png'))
        if name in with_class_masks:
            mask = Image.fromarray(label)
            # Attaching a palette turns the 'L' image into 'P' as is.
            mask.putpalette(palette)
            mask.save(osp.join(out_dir, 'SegmentationClass', f'{name}.png'))
        with open(osp.join(out_dir, 'Annotations', f'{name}.xml'), 'wb') as f:
            f.write(
                _xml_bytes(name, img.shape, objects, name in with_class_masks))
        vec = np.zeros(len(VOC_CLASSES) - 1, dtype=np.float32)
        for cls_name, _, _ in objects:
            vec[VOC_CLASSES.index(cls_name) - 1] = 1
        cls_labels[name] = vec

    for split, names in splits.items():
        path = osp.join(out_dir, 'ImageSets', 'Segmentation', f'{split}.txt')
        with open(path, 'w', newline='\n') as f:
            f.write(''.join(f'{n}\n' for n in names))
    np.save(osp.join(out_dir, 'cls_labels.npy'), cls_labels)
    params = dict(
        seed=seed,
        num_train_aug=num_train_aug,
        num_train=num_train,
        num_val=num_val,
        min_size=min_size,
        max_size=max_size,
        style=style,
        classes=[c[0] for c in TOY_CLASSES])
    with open(osp.join(out_dir, MARKER_FILE), 'w') as f:
        json.dump(params, f, indent=2)
        f.write('\n')
    return splits


def ensure_toy_voc(out_dir: str) -> str:
    """Draw the default toy set into ``out_dir`` unless a finished one (its
    ``toy_voc.json``, written last) is there.

    Returns:
        str: ``out_dir``.
    """
    if not osp.isfile(osp.join(out_dir, MARKER_FILE)):
        make_toy_voc(out_dir)
    return out_dir
