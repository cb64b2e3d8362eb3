# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Question: does mmcv-lite (no compiled ops) serve every shipped config?

For every config under ``configs/`` (toy and VOC, ``_base_`` excluded):
build its model with random weights (``init_cfg`` and ``load_from`` off,
SyncBN reverted to BN as on one process), list the modules whose class
comes from ``mmcv.ops`` (compiled ops), run one training step
(``train_step`` with the config's optimizer wrapper, SupportNet's EMA where
there is one) on a batch of the config's own training pipeline, and one
``test_step`` on an image of its test pipeline. With mmcv-lite installed,
``mmseg_wsss.compat`` turns any call into a compiled op into an error, so
a config that needs one fails here with that error.

Sizes are shrunk to keep it quick (ops do not depend on them): crops and
the data preprocessor's size to 64 x 64, training rescales to 64-128 px,
DeepLab's test resize to 128 x 64, on the toy set's 64-128 px images
(the COCO configs on the tests' miniature COCO, ``tests/mini_coco.py``).
IRN's test pipeline reads CAM files: random ones are written for its
images (``cams``, ``classes``, ``strided_cams`` as the export writes
them). ``--device cuda`` runs the same on a GPU.

Usage::

    python benchmarks/bench_mmcv_lite.py [--device cuda] [--no-write]
"""
import argparse
import glob
import importlib.metadata
import os
import os.path as osp
import sys
import tempfile
import traceback

import common
import numpy as np
import torch

CONFIG_DIR = osp.join(common.REPO_ROOT, 'configs')
SIZE = 64


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--configs',
        nargs='+',
        default=['**/*.py'],
        help='config globs relative to configs/ (default: all)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument(
        '--data-root',
        default=common.DEFAULT_TOY_ROOT,
        help='the toy set (drawn there on first use)')
    parser.add_argument(
        '--no-write', action='store_true', help='do not touch RESULTS.md')
    return parser.parse_args(argv)


def shipped_configs(patterns) -> list:
    """Config paths relative to configs/, without ``_base_``."""
    found = set()
    for pattern in patterns:
        for path in glob.glob(osp.join(CONFIG_DIR, pattern), recursive=True):
            rel = osp.relpath(path, CONFIG_DIR)
            if not rel.startswith('_base_'):
                found.add(rel)
    return sorted(found)


def _shrink_pipeline(pipeline) -> None:
    for step in pipeline:
        if isinstance(step, list):  # TestTimeAug's transforms
            _shrink_pipeline(step)
            continue
        if 'crop_size' in step:
            step.crop_size = (SIZE, SIZE)
        if step.type == 'RandomResize':
            step.scale = (2 * SIZE, 2 * SIZE)
        elif step.type == 'Resize' and 'scale' in step:
            step.scale = (2 * SIZE, SIZE)
        if 'transforms' in step:
            _shrink_pipeline(step.transforms)


def mini_coco(root: str) -> str:
    """The tests' miniature COCO 2014 (``tests/mini_coco.py``),
    converted: the data root of the COCO configs here."""
    sys.path.insert(0, osp.join(common.REPO_ROOT, 'tests'))
    from mini_coco import make_mini_coco

    from mmseg_wsss.datasets.coco_converter import convert_coco
    os.makedirs(root)
    make_mini_coco(root)
    convert_coco(root)
    return root


def small_config(rel_path: str, data_roots: dict, cam_dir: str):
    """The config on a toy set at 64 px, random weights; IRN configs read
    random CAMs written into ``cam_dir``."""
    from mmengine.config import Config

    from mmseg_wsss.utils.config_paths import set_cfg_cam_dir, set_data_root
    cfg = Config.fromfile(osp.join(CONFIG_DIR, rel_path))
    coco = cfg.train_dataloader.dataset.type == 'WeakCOCODataset'
    data_root = data_roots['coco' if coco else 'voc']
    set_data_root(cfg, data_root)
    # masks of every training image (the toy VOC's train_aug, COCO's train)
    masks = 'SegmentationClassAug' if osp.isdir(
        osp.join(data_root, 'SegmentationClassAug')) else 'SegmentationClass'
    for key in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[key].dataset
        _shrink_pipeline(dataset.pipeline)
        prefix = dataset.get('data_prefix', {})
        # IRN's relation labels, DeepLab's pseudo masks: the toy masks
        if key == 'train_dataloader' and prefix.get('seg_map_path'):
            prefix.seg_map_path = masks
    if cfg.model.data_preprocessor.get('size'):
        cfg.model.data_preprocessor.size = (SIZE, SIZE)
    for holder in (cfg.model, cfg.model.backbone):
        holder.pop('init_cfg', None)
        holder.pop('pretrained', None)
    cfg.load_from = None
    if 'relation_cfg' in cfg:
        set_cfg_cam_dir(cfg, cam_dir)
        write_random_cams(cfg, cam_dir)
    return cfg


def write_random_cams(cfg, cam_dir: str) -> None:
    """CAM files as the export writes them (``cams``, ``classes``,
    ``strided_cams``) for the images of the config's test set, random
    values for the classes of each image's labels."""
    from mmseg.registry import DATASETS
    from PIL import Image

    from mmseg_wsss.utils import image_name
    rng = np.random.default_rng(0)
    os.makedirs(cam_dir, exist_ok=True)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=[]))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        with Image.open(info['img_path']) as img:
            h, w = img.height, img.width
        classes = np.flatnonzero(info['img_labels']) + 1
        k = len(classes)
        np.savez(
            osp.join(cam_dir,
                     image_name(info['img_path']) + '.npz'),
            cams=rng.random((k, h, w), dtype=np.float32),
            classes=classes,
            strided_cams=rng.random((k, (h - 1) // 4 + 1, (w - 1) // 4 + 1),
                                    dtype=np.float32))


def check_config(rel_path: str, data_roots: dict, cam_dir: str,
                 device: str) -> dict:
    """Build, train one step and test one image; what failed, if anything.
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import DATASETS, MODELS
    result = dict(config=rel_path, compiled=[], train='-', test='-')
    try:
        cfg = small_config(rel_path, data_roots, cam_dir)
        torch.manual_seed(0)
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.init_weights()
        model.to(device)
        result['model'] = type(model).__name__
        result['compiled'] = sorted({
            type(m).__name__
            for m in model.modules()
            if type(m).__module__.startswith('mmcv.ops')
        })
        model.train()
        if hasattr(model, 'update_support'):
            model.update_support()
        train_set = DATASETS.build(cfg.train_dataloader.dataset)
        batch = pseudo_collate([train_set[i] for i in range(2)])
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        losses = model.train_step(batch, optim_wrapper)
        if hasattr(model, 'update_support'):
            model.update_support()
        bad = [k for k, v in losses.items() if not torch.isfinite(v).all()]
        result['train'] = f'not finite: {bad}' if bad else 'ok'
        test_set = DATASETS.build(cfg.test_dataloader.dataset)
        model.eval()
        with torch.no_grad():
            out = model.test_step(pseudo_collate([test_set[0]]))
        result['test'] = 'ok' if out and 'pred_sem_seg' in out[0] else \
            'no pred_sem_seg'
    except Exception as err:  # recorded: one config must not stop the rest
        where = 'train' if result['train'] == '-' else 'test'
        result[where] = f'{type(err).__name__}: {err}'.splitlines()[0]
        traceback.print_exc()
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    # one thread: the timings are no benchmark, only the errors count
    common.setup(threads=1)
    configs = shipped_configs(args.configs)
    rows, failed = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        data_roots = dict(
            voc=common.ensure_toy_data(args.data_root),
            coco=mini_coco(osp.join(tmp, 'coco')))
        for i, rel_path in enumerate(configs):
            r = check_config(rel_path, data_roots, osp.join(tmp, f'cams{i}'),
                             args.device)
            failed += r['train'] != 'ok' or r['test'] != 'ok' or bool(
                r['compiled'])
            rows.append([
                f'`{rel_path}`',
                r.get('model', '-'), ', '.join(r['compiled']) or 'none',
                r['train'], r['test']
            ])
            print(rows[-1], flush=True)
    try:
        mmcv = 'mmcv-lite ' + importlib.metadata.version('mmcv-lite')
    except importlib.metadata.PackageNotFoundError:
        mmcv = 'mmcv ' + importlib.metadata.version('mmcv')
    body = (f'{mmcv} on `{args.device}`; every shipped config: model built '
            'with random weights, one `train_step` (batch 2 of its training '
            'pipeline) and one `test_step`, at 64 px crops on the toy VOC and '
            'the miniature COCO. '
            f'{len(configs) - failed} of {len(configs)} configs ran without '
            'a compiled op.\n\n' + common.markdown_table([
                'config', 'model', 'modules from mmcv.ops', 'train_step',
                'test_step'
            ], rows))
    common.append_results(
        'bench_mmcv_lite.py: does mmcv-lite serve every shipped config?',
        body,
        write=not args.no_write)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
