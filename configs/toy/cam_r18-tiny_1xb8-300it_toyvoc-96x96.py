# Baseline CAM network on the embedded toy data set (CPU, minutes).
_base_ = [
    '../_base_/models/cam_r18_tiny.py', '../_base_/datasets/toy_voc.py',
    '../_base_/toy_runtime.py', '../_base_/schedules/schedule_toy.py'
]
