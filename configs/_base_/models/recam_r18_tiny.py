# ReCAM on the CPU-sized CAM network of cam_r18_tiny.py.
_base_ = ['./cam_r18_tiny.py', './recam.py']
model = _base_.recam
