# ReCAM on the CAM network of cam_r50.py.
_base_ = ['./cam_r50.py', './recam.py']
model = _base_.recam
