# Baseline CAM network on the embedded toy data set (CPU, minutes).
_base_ = [
    '../_base_/models/cam_r18_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py'
]
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
