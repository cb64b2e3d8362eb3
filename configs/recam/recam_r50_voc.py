# ReCAM (Chen et al., CVPR 2022) fine-tuning the CAM baseline on PASCAL VOC
# 2012 train_aug. Name in mmseg's scheme: recam_r50-d16_1xb8-4e_voc12aug-
# 384x384. Staged as the official code: stage 1a trains `baseline_config`;
# this config loads its checkpoint and adds the predictor:
#   --cfg-options load_from=work_dirs/cam_r50_voc/iter_52920.pth
# (tools/run_pipeline.py runs both stages and passes it).
# Departures from the official settings (docs/user_guides/2_recam.md):
# - stage 1a is our cam_r50_voc.py: a CAM head with a 1x1 conv + ReLU
#   feature layer (D = 256), so ReCAM works on that feature;
# - our data pipeline (crop 384, batch 8) instead of crop 512, batch 16,
#   long side in [320, 640]: the same as stage 1a, so that seed methods
#   compare on one pipeline;
# - the optimizer in our momentum convention (schedule_recam_4e_voc.py).
_base_ = [
    '../_base_/models/recam_r50.py', '../_base_/datasets/voc12_wsss.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_recam_4e_voc.py'
]
baseline_config = '../wsss/cam_r50_voc.py'
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
