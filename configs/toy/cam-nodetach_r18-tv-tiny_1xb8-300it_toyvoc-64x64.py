# ReCAM's CAM stage (../recam/cam-nodetach_r50-tv_voc.py) on the embedded
# toy data set: the toy IRN CAM network with nothing detached (only the
# stem frozen), background 0.21.
_base_ = './cam_r18-tv-tiny_1xb8-300it_toyvoc-64x64.py'
model = dict(backbone=dict(frozen_stages=0), test_cfg=dict(bg_thr=0.21))
