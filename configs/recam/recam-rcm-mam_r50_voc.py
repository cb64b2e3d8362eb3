# ReCAM on top of the method ("plug-and-play on any CAM variant"): the same
# fine-tuning, started from the RCM + MAM network's MainNet. Its checkpoint
# holds MainNet under the CAM network's keys; SupportNet and the RCM memory
# are ignored on load:
#   --cfg-options load_from=work_dirs/rcm_mam_r50_voc/iter_52920.pth
# tools/run_pipeline.py trains `baseline_config` as stage 1a: for the whole
# chain (CAM -> RCM + MAM -> ReCAM) run the method's pipeline first and pass
# its checkpoint as above. Departures from the official ReCAM settings:
# those of recam_r50_voc.py (feature layer, backbone and stem, BN,
# augmentation, steps at batch 8, optimizer), and stage 1 is the RCM + MAM
# network instead of a CAM network trained alone.
_base_ = './recam_r50_voc.py'
baseline_config = '../wsss/rcm_mam_r50_voc.py'
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
