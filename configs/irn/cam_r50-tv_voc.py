# IRN's CAM network (Ahn, Cho and Kwak, CVPR 2019) on PASCAL VOC 2012
# train_aug, as jiwoon-ahn/irn trains it (net/resnet50_cam.py,
# step/train_cam.py, run_sample.py): the torchvision ResNet-50 at output
# stride 16 with the stem and layers 1-2 frozen and BatchNorm on running
# statistics, a bias-free classifier on the 2048-d layer-4 feature, long
# side 320-640 + flip + 512 crop, batch 16, 5 epochs, lr 0.1 (classifier
# x10), momentum as IRN ran it (1e-4). CAMs at scales 1.0, 0.5, 1.5, 2.0 +
# flip, background 0.15. Target: CAM mIoU 48.3 on VOC train (the paper, as
# quoted in jiwoon-ahn/irn issues/4; configs/irn/README.md).
# Name in mmseg's scheme: cam_r50-tv-d16_1xb16-3305it_voc12aug-512x512.
#
# Departures from IRN's code:
# - weights file: mmengine's torchvision://resnet50 is torchvision's
#   IMAGENET1K_V1 file resnet50-0676ba61.pth; IRN downloads
#   resnet50-19c8e357.pth, the URL torchvision served for its ResNet-50
#   before (not compared here). IRN's file exactly:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# - data order: mmengine's InfiniteSampler shuffles each epoch and batches
#   run across epoch ends; IRN drops each epoch's last partial batch. The
#   same 3305 steps of 16 images.
# - long side: int(640 * r) with r uniform in [0.5, 1] (mmseg's
#   RandomResize); IRN draws an integer uniformly in [320, 640].
# - CAM inference: each scale is resized from the normalised image
#   (bilinear, in the network; IRN: PIL bicubic of the image) and its CAMs
#   go straight to the image size (IRN: to the size rounded up to a
#   multiple of 16, then cropped); the maps differ by interpolation only.
# - validation: CAM mIoU on VOC train after training; IRN prints a val-set
#   loss after each epoch (its weights do not depend on it).
# - several GPUs: DDP over 16 / N images each (IRN: DataParallel); BN uses
#   running statistics, so the step is the one of one process.
_base_ = [
    '../_base_/models/cam_r50_irn.py', '../_base_/datasets/voc12_wsss_irn.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_irn_cam_5e_voc.py'
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
