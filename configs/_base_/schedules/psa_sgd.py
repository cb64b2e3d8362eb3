# The optimizer of PSA's code base, which SEAM and the authors' code reuse
# (RESNET38.md section 2; PSA train_cls.py / tool/torchutils.py). Select it
# on top of a schedule with `optim_wrapper = _base_.psa_optim_wrapper`.
#
# Momentum quirk: PSA's PolyOptimizer passes its weight decay positionally
# into torch.optim.SGD's momentum slot, so everything trained with it ran
# with momentum 5e-4, practically none (the attribute it calls momentum,
# 0.9, is the poly power). The presets keep what the authors ran; the
# usual SGD momentum (the R50 recipe's) is one override away:
#   --cfg-options optim_wrapper.optimizer.momentum=0.9
psa_quirk_momentum = 5e-4
# Parameter groups (PSA get_parameter_groups): pretrained weights lr x1,
# pretrained biases x2 without decay, new layers x10, their biases x20
# without decay. mmengine's paramwise_cfg expresses them: bias_* applies to
# biases outside any custom key (the backbone's; ResNet-38's convs have
# none), the longest matching custom key wins, so the head's one bias is
# named. BatchNorm is in no group in PSA: the backbone freezes it, and
# MainNetOptimWrapperConstructor leaves frozen layers (and SupportNet) out
# with one log line. (PSA also lists the frozen conv1a / b2 weights in its
# first group; without gradients SGD skips them, so leaving them out is the
# same.)
psa_optim_wrapper = dict(
    type='OptimWrapper',
    constructor='MainNetOptimWrapperConstructor',
    optimizer=dict(
        type='SGD', lr=0.01, momentum=psa_quirk_momentum, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.cam_head.': dict(lr_mult=10.0),
            '.cam_head.feat_conv.conv.bias':
            dict(lr_mult=20.0, decay_mult=0.0)
        }),
    clip_grad=None)
