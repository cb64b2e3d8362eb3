# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Train a segmentor from a config (mmseg's tools/train.py, for mmseg-wsss)."""
import argparse

from mmengine.runner import Runner

from mmseg_wsss.apis import (check_pretrained_files, cli,
                             skip_pretrained_under_checkpoint)
from mmseg_wsss.utils import init_cpu_dist, shutdown_distributed
from mmseg_wsss.utils.scale_out import (KEEP_MODES, enable_auto_scale_lr,
                                        keep_global_batch, launcher_world_size)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training: mmengine\'s '
        'AmpOptimWrapper (float16 by default) on a GPU, bfloat16 autocast '
        '(BF16AmpOptimWrapper) on the CPU')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr linearly to the global batch (processes x '
        'train_dataloader.batch_size x accumulative_counts) against the '
        "config's auto_scale_lr.base_batch_size, the batch of its recipe")
    parser.add_argument(
        '--global-batch',
        choices=KEEP_MODES,
        help="train at the recipe's global batch (auto_scale_lr."
        'base_batch_size) on the processes of this run: device (global '
        'batch / processes images per process) or accumulate (the '
        "config's images per process, gradients accumulated; the iteration "
        'counts scaled to the same optimizer steps)')
    cli.add_data_args(
        parser, cam_dir=True, relation_dir=True, pseudo_labels=True)
    cli.add_config_args(parser, 'train_dataloader.batch_size=4')
    return cli.parse_args(parser, argv)


def build_config(args):
    """The config that ``args`` ask to train."""
    cfg = cli.load_config(args)
    cli.resolve_work_dir(cfg, args.work_dir)

    if args.amp:
        cli.enable_amp(cfg)
    if args.global_batch:
        cfg = keep_global_batch(cfg, launcher_world_size(cfg.launcher),
                                args.global_batch)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    cfg.resume = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    # load_from (e.g. stage 1b from stage 1a) or resume: no ImageNet weights
    skip_pretrained_under_checkpoint(cfg)
    check_pretrained_files(cfg)
    cli.warn_cpu_training(cfg)
    init_cpu_dist(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
