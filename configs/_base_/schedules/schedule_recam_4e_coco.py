# ReCAM's fine-tuning on COCO 2014 train (82,783 images): 4 epochs (ReCAM's
# run_sample_coco.py: batch 6, 55,188 steps); at our batch 8,
# 82,783 // 8 * 4 = 41,388 iterations. Optimizer as on VOC
# (schedule_recam_4e_voc.py, the official lrs in our momentum convention).
_base_ = './schedule_recam_4e_voc.py'
max_iters = 41388
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
