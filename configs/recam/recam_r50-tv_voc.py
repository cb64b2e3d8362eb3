# ReCAM (Chen et al., CVPR 2022) as its authors ran it on PASCAL VOC 2012
# (zhaozhengChen/ReCAM: step/train_recam.py, step/make_recam.py,
# net/resnet50_cam.py, run_sample.py): fine-tunes ReCAM's CAM stage
# (baseline_config) with a bias-free predictor 2048 -> 20 on the layer-4
# feature, SCE weight 1.0, 4 epochs at batch 16, lr 5e-5 (backbone and
# classifier) and 5e-4 (predictor), momentum as they ran it (1e-4); maps
# from the product of the predictor and classifier weights at scales 1.0,
# 0.5, 1.5, 2.0 + flip, background 0.21. Targets (configs/recam/README.md):
# ReCAM mIoU 54.8 on VOC train, masks after IRN 70.5 (the paper as quoted,
# unconfirmed), DeepLabV2 val 68.5 with CRF (the author, ReCAM issues/16).
# Name in mmseg's scheme: recam_r50-tv-d16_1xb16-2644it_voc12aug-512x512.
#
# Staged as the official code: stage 1a trains `baseline_config`; this
# config loads its checkpoint and adds the predictor:
#   --cfg-options load_from=work_dirs/cam-nodetach_r50-tv_voc/iter_3305.pth
# (tools/run_pipeline.py runs both stages and passes it).
#
# The IRN stage that follows, with ReCAM's refinement settings where its
# scripts differ from IRN's (relation labels at 0.35 / 0.10, walk
# background 0.28, no 512 test padding): ./irn-recam_r50-tv_voc.py.
#
# Departures from the official code: those of ../irn/cam_r50-tv_voc.py
# (data order, long-side draw, inference interpolation, validation, DDP),
# and the SCE loss normalised by the global batch under DDP (the official
# code runs on one GPU); the predictor's accuracy is logged as
# cam.acc_recam (the official log's acc).
_base_ = [
    '../_base_/models/cam_r50_irn.py', '../_base_/models/recam.py',
    '../_base_/datasets/voc12_wsss_irn.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_recam_irn_4e_voc.py'
]
# ReCAM's network trains layers 1-4 (only the stem frozen), as its stage 1a
model = dict(_base_.recam, backbone=dict(frozen_stages=0))
baseline_config = './cam-nodetach_r50-tv_voc.py'
auto_scale_lr = dict(enable=False, base_batch_size=16)
