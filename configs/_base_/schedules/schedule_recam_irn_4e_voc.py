# ReCAM's fine-tuning as its authors ran it (zhaozhengChen/ReCAM:
# step/train_recam.py, run_sample.py): 4 epochs of train_aug at batch 16
# with drop_last, lr 5e-5 for the backbone and the CAM classifier
# (0.1 x recam_learning_rate 5e-4) and 5e-4 for the predictor, weight decay
# 1e-4 on all, poly power 0.9, IRN's PolyOptimizer (momentum 1e-4, see
# schedule_irn_cam_5e_voc.py; the usual momentum:
#   --cfg-options optim_wrapper.optimizer.momentum=0.9).
_base_ = './schedule_irn_cam_5e_voc.py'
max_iters = 2644  # 4 * (10582 // 16)
optim_wrapper = dict(
    optimizer=dict(lr=5e-5),
    # the CAM classifier at the backbone's lr, the new predictor x10
    paramwise_cfg=dict(
        custom_keys={'.recam_head.': dict(lr_mult=10.0)}, _delete_=True))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
