# ReCAM (Chen et al., CVPR 2022) fine-tuning the CAM baseline on PASCAL VOC
# 2012 train_aug. Name in mmseg's scheme: recam_r50-d16_1xb8-4e_voc12aug-
# 384x384. Staged as the official code: stage 1a trains `baseline_config`;
# this config loads its checkpoint and adds the predictor:
#   --cfg-options load_from=work_dirs/cam_r50_voc/iter_52920.pth
# (tools/run_pipeline.py runs both stages and passes it).
# The official recipe as its authors ran it: recam_r50-tv_voc.py. Departures
# of this one from it (docs/user_guides/2_recam.md), each chosen so that
# seed methods compare on one network and one pipeline:
# - feature layer: stage 1a is our cam_r50_voc.py, whose CAM head has a 1x1
#   conv + ReLU to D = 256 before the classifier, so the predictor and the
#   class-specific features are 256-d (official: layer 4's 2048-d);
# - backbone and stem: mmseg's ResNetV1c (deep stem of three 3x3 convs,
#   open-mmlab://resnet50_v1c weights), output stride 16 by dilating layer 4;
#   the stem and every stage train (official: torchvision ResNet-50, layer 4
#   at stride 1 undilated, the 7x7 stem conv1 + bn1 frozen);
# - BN: running statistics frozen and affine weights trained, as the
#   official, except the stem's BN (trained here, frozen there);
# - augmentation: long side 256-512, flip, colour jitter (p 0.8) and
#   grayscale (p 0.1), crop 384 with short images padded bottom-right
#   (official: long side 320-640, flip, crop 512 at a random offset, no
#   colour jitter);
# - steps at our batch size: 4 epochs are 5292 steps of 8 images (official:
#   2644 steps of 16);
# - the optimizer in our momentum convention (schedule_recam_4e_voc.py: lr
#   5e-6 with momentum 0.9 for the official 5e-5 with momentum 1e-4).
_base_ = [
    '../_base_/models/recam_r50.py', '../_base_/datasets/voc12_wsss.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_recam_4e_voc.py'
]
baseline_config = '../wsss/cam_r50_voc.py'
# the recipe's global batch, GPUs x images per GPU (docs/user_guides/
# 8_distributed.md): tools/train.py --auto-scale-lr scales the lr to yours
auto_scale_lr = dict(enable=False, base_batch_size=8)
