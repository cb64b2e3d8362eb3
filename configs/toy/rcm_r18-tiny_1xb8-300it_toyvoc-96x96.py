# Ablation: RCM only (MAM weight 0).
_base_ = './rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
model = dict(mam_head=dict(loss_mam=dict(loss_weight=0.0)))
