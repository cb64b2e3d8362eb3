# IRN's CAM training (jiwoon-ahn/irn: step/train_cam.py, misc/torchutils.py,
# run_sample.py): 5 epochs of train_aug (10,582 images) at batch 16 with
# drop_last, SGD lr 0.1 with the classifier x10, weight decay 1e-4 on every
# trained parameter (BN affine included), poly power 0.9 to 0, no warm-up.
_base_ = './schedule_40e_voc.py'
max_iters = 3305  # 5 * (10582 // 16)
# IRN's PolyOptimizer hands its weight decay to torch.optim.SGD
# positionally, into SGD's momentum slot: IRN ran with momentum 1e-4,
# practically plain SGD (its "momentum" 0.9 is the poly power). The usual
# SGD momentum is a switch:
#   --cfg-options optim_wrapper.optimizer.momentum=0.9
irn_quirk_momentum = 1e-4
optim_wrapper = dict(
    # the classifier x10 ('.cam_head.', schedule_40e_voc.py)
    optimizer=dict(lr=0.1, momentum=irn_quirk_momentum, weight_decay=1e-4))
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
