# MainNet (the CAM network of cam_r50.py) + EMA SupportNet with RCM and MAM.
_base_ = ['./cam_r50.py', './rcm_mam.py']
model = _base_.rcm_mam
