# The authors' recipe of the method on the CPU-sized network of
# cam_r38_tiny.py.
_base_ = ['./cam_r38_tiny.py', './rcm_mam_labcode.py']
model = _base_.rcm_mam
