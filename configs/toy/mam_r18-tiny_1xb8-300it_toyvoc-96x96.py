# Ablation: MAM only (RCM weight 0).
_base_ = './rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
model = dict(rcm_head=dict(loss_rcm=dict(loss_weight=0.0)))
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
