# IRN's refinement of ReCAM's maps with ReCAM's own settings, the IRN stage
# after recam_r50-tv_voc.py (zhaozhengChen/ReCAM: run_sample.py,
# net/resnet50_irn.py): IRN's relation network and training as
# ../irn/irn_r50-tv_voc.py (batch 32, 3 epochs, lr 0.1, radius 10 / 5,
# beta 10, 2^8 steps) with relation labels at conf_fg 0.35 / conf_bg 0.10
# (IRN: 0.30 / 0.05), walked masks at background 0.28 (IRN: 0.25), and the
# test image not padded to 512 (ReCAM's net/resnet50_irn.py drops IRN's
# padding). Target: refined-mask mIoU 70.5 on VOC train (the paper as
# quoted, unconfirmed; README.md). ReCAM runs the walk over train_aug for
# its DeepLab labels: the pipeline's export of train_aug.
# Name in mmseg's scheme: irn_r50-tv-d16_1xb32-990it_voc12aug-512x512.
#
# Departures from the official code: those of ../irn/irn_r50-tv_voc.py.
_base_ = '../irn/irn_r50-tv_voc.py'
relation_cfg = dict(conf_fg_thr=0.35, conf_bg_thr=0.10)
model = dict(test_cfg=dict(bg_thr=0.28, pad_size=None))
