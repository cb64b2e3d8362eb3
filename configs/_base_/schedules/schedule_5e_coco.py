# Stage 1 on COCO 2014 train (82,783 images): 5 epochs, as IRN-style CAM
# training on COCO runs (ReCAM's run_sample_coco.py: batch 16, 5 epochs,
# 82,783 // 16 * 5 = 25,865 steps). At our batch 8 the same 5 epochs are
# 82,783 // 8 * 5 = 51,735 iterations; optimizer and poly decay as the VOC
# schedule (schedule_40e_voc.py).
_base_ = './schedule_40e_voc.py'
max_iters = 51735
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
