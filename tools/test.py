# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Test a checkpoint: mIoU (CAM mIoU for CAM segmentors) on a split."""
import argparse

from mmengine.runner import Runner

from mmseg_wsss.apis import cli
from mmseg_wsss.utils import init_cpu_dist, shutdown_distributed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a segmentor checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--show-dir', help='dir to save drawn predictions (images + masks)')
    parser.add_argument(
        '--fuse-conv-bn',
        action='store_true',
        help='fold BatchNorm into the convolutions and use channels-last '
        'weights (faster inference, same predictions up to float rounding)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation as mmseg\'s tools/test.py: the '
        'config\'s `tta_pipeline` (multi-scale + flip) merged by its '
        '`tta_model` (SoftmaxSegTTAModel: the mean softmax, as mmseg\'s '
        'SegTTAModel)')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='refine the (merged) class probabilities of a segmentation '
        'network with a dense CRF before the metric (DenseCRFSegTTAModel; '
        'its parameters from the config\'s `test_crf`, else DeepLab\'s)')
    cli.add_data_args(parser, cam_dir=True)
    cli.add_config_args(parser, 'model.test_cfg.bg_thr=0.2')
    return cli.parse_args(parser, argv)


def trigger_visualization_hook(cfg, show_dir):
    """Let mmseg's SegVisualizationHook draw every prediction."""
    hook = cfg.default_hooks.get('visualization', None)
    if hook is None:
        raise KeyError('--show-dir needs `default_hooks.visualization` '
                       '(SegVisualizationHook) in the config')
    hook['draw'] = True
    visualizer = cfg.visualizer
    visualizer['save_dir'] = show_dir
    return cfg


def use_tta(cfg):
    """Wrap the model in ``cfg.tta_model`` and test on ``cfg.tta_pipeline``,
    as mmseg's ``tools/test.py --tta`` does."""
    for key in ('tta_model', 'tta_pipeline'):
        if key not in cfg:
            raise KeyError(f'--tta needs `{key}` in the config (see '
                           'configs/deeplabv2/ for an example); CAM and IRN '
                           'configs set their multi-scale + flip inference '
                           'in model.test_cfg')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


def use_crf(cfg, tta):
    """Merge the test predictions with :class:`DenseCRFSegTTAModel`, which
    adds a dense CRF to mmseg's merging: in place of the config's
    ``tta_model`` with ``tta``, around the model alone without."""
    crf_model = dict(type='DenseCRFSegTTAModel', crf=cfg.get('test_crf'))
    if tta:
        cfg.tta_model = crf_model
    else:
        cfg.model = dict(crf_model, module=cfg.model)
    return cfg


def main(argv=None):
    """Test a checkpoint; ``argv`` as for :func:`parse_args`."""
    args = parse_args(argv)
    cfg = cli.load_config(args)
    cli.resolve_work_dir(cfg, args.work_dir)
    cfg.load_from = args.checkpoint

    if args.show_dir:
        cfg = trigger_visualization_hook(cfg, args.show_dir)
    if args.crf:
        cfg = use_crf(cfg, args.tta)
    if args.tta:
        cfg = use_tta(cfg)
    if args.fuse_conv_bn:
        cfg.custom_hooks = list(cfg.get(
            'custom_hooks', [])) + [dict(type='PrepareForInferenceHook')]

    init_cpu_dist(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    shutdown_distributed()
    return metrics


if __name__ == '__main__':
    main()
