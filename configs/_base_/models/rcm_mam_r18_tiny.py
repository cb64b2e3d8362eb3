# The method on the CPU-sized network of cam_r18_tiny.py.
_base_ = ['./rcm_mam_r50.py']
model = dict(
    data_preprocessor=dict(size=(96, 96)),
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        norm_eval=False,
        init_cfg=None),
    cam_head=dict(in_channels=128, channels=64))
