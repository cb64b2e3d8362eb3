# The authors' recipe of the method: MainNet the CAM network of cam_r38.py,
# SupportNet its EMA copy, RCM and MAM set as in their code.
_base_ = ['./cam_r38.py', './rcm_mam_labcode.py']
model = _base_.rcm_mam
