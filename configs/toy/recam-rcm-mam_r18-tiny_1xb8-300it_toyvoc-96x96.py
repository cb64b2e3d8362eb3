# ReCAM on the toy RCM + MAM network: fine-tunes its MainNet checkpoint
# (load_from=...; SupportNet and the RCM memory are ignored on load).
_base_ = './recam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
baseline_config = './rcm-mam_r18-tiny_1xb8-300it_toyvoc-96x96.py'
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
