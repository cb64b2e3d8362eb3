# ReCAM's CAM stage (stage 1a of recam_r50-tv_voc.py), as
# zhaozhengChen/ReCAM trains it (net/resnet50_cam.py, step/train_cam.py,
# run_sample.py): IRN's CAM network and recipe (../irn/cam_r50-tv_voc.py,
# whose departures apply) with nothing detached: layers 1-4 and the
# classifier train, only the stem is frozen; BN stays on running
# statistics. CAMs scored at ReCAM's background 0.21 (IRN: 0.15).
# Name in mmseg's scheme: cam_r50-tv-d16_1xb16-3305it_voc12aug-512x512.
_base_ = '../irn/cam_r50-tv_voc.py'
model = dict(backbone=dict(frozen_stages=0), test_cfg=dict(bg_thr=0.21))
