# ReCAM (Chen et al., CVPR 2022) fine-tuning the CAM baseline on MS COCO
# 2014 train. Name in mmseg's scheme: recam_r50-d16_1xb8-4e_coco14-384x384.
# Staged as ../recam/recam_r50_voc.py (its departures from the official
# code hold here too):
#   --cfg-options load_from=work_dirs/cam_r50_coco/iter_51735.pth
# The authors' COCO settings (ReCAM: run_sample_coco.py,
# step_coco/make_recam.py): loss weight lambda 0.1, maps from the CAM
# classifier's own weights (W_cam, no product with the predictor),
# background threshold 0.15, 4 epochs (their batch 6, ours 8).
_base_ = [
    '../_base_/models/recam_r50.py', '../_base_/datasets/coco2014_wsss.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_recam_4e_coco.py'
]
baseline_config = './cam_r50_coco.py'
model = dict(
    cam_head=dict(num_classes=80),
    recam_head=dict(cam_weight='cam', loss_sce=dict(loss_weight=0.1)),
    test_cfg=dict(bg_thr=0.15))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
