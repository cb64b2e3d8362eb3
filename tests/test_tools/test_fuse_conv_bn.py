# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""``tools/test.py --fuse-conv-bn``: the CAM evaluation on a folded,
channels-last network gives the same metrics."""


def test_fuse_conv_bn_keeps_the_cam_miou(toy_cam_checkpoint, load_tool,
                                         tmp_path):
    cfg_path, ckpt = toy_cam_checkpoint
    tool = load_tool('test')
    results = {}
    for flag in ([], ['--fuse-conv-bn']):
        argv = [
            cfg_path, ckpt, '--work-dir',
            str(tmp_path / str(len(flag))), '--cfg-options',
            'test_dataloader.dataset.indices=16'
        ]
        results[len(flag)] = tool.main(argv + flag)
    plain, fused = results[0], results[1]
    assert fused['best_bg_thr'] == plain['best_bg_thr']
    # float rounding may move a pixel across a threshold, no more
    assert abs(fused['mIoU'] - plain['mIoU']) < 0.05
    assert plain['mIoU'] > 0
