# The method on the CPU-sized network of cam_r18_tiny.py.
_base_ = ['./cam_r18_tiny.py', './rcm_mam.py']
model = _base_.rcm_mam
