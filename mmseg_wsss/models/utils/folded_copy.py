# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""An inference copy of a network that keeps following the network."""
import copy
import warnings
from typing import Callable, List, Tuple

import torch
from torch import Tensor, nn

# Relative tolerance of the check that folding BatchNorm kept the outputs.
FOLD_RTOL = 1e-4


def conv_bn_pairs(module: nn.Module,
                  prefix: str = '') -> List[Tuple[str, str]]:
    """Qualified names of the (convolution, BatchNorm) pairs to fold.

    The rule of mmcv's ``fuse_conv_bn``: a BatchNorm is paired with the
    ``nn.Conv2d`` registered just before it in the same parent module, which
    feeds it in mmseg's and torchvision's backbones (a pre-norm module is
    the exception: :class:`FoldedCopy` checks its outputs).

    Args:
        module (nn.Module): The network.
        prefix (str): Name of ``module`` inside the network. Defaults to ''.

    Returns:
        list[tuple[str, str]]: ``(conv name, bn name)``, in module order.
    """
    pairs, last_conv = [], None
    for name, child in module.named_children():
        full = prefix + name
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            # without running statistics it normalises by the batch's; of
            # another width it cannot follow the conv
            if last_conv is not None and child.running_var is not None \
                    and child.num_features == last_conv[1].out_channels:
                pairs.append((last_conv[0], full))
            last_conv = None
        elif isinstance(child, nn.Conv2d):
            last_conv = (full, child)
        else:
            pairs += conv_bn_pairs(child, full + '.')
    return pairs


class FoldedCopy:
    """A copy of a network for inference that follows the network's weights.

    For a network that only runs inference while its weights change between
    calls (an EMA teacher such as SupportNet). The copy has its BatchNorm
    layers folded into the preceding convolutions and channels-last weights,
    as :func:`prepare_for_inference` makes a model: no pass over every
    feature map per BatchNorm, and oneDNN's native NHWC kernels without
    layout conversions (about 1.6x faster ResNet-50 passes on the CPU).
    :meth:`refresh` recomputes the copy's weights from the network's current
    ones in place: one pass over the weights, no new modules.

    mmcv's ``fuse_conv_bn`` (used by :func:`prepare_for_inference`) folds
    once into new modules; following weights that change at every step with
    it would mean a deep copy and a new fold per step, so the copy here
    keeps its modules and only rewrites their weights.

    The folding is checked once, on a fixed input through ``forward``: if
    the outputs differ beyond float rounding (a BatchNorm that does not
    follow its convolution), the copy keeps its BatchNorm layers, with a
    warning.

    Args:
        source (nn.Module): The network, in eval mode.
        forward (Callable[[nn.Module, Tensor], Tensor]): Runs the network
            or the copy on images (N, 3, H, W) and returns an output
            tensor, for the check.
        channels_last (bool): Channels-last 4-D weights. Defaults to True.
    """

    def __init__(self,
                 source: nn.Module,
                 forward: Callable[[nn.Module, Tensor], Tensor],
                 channels_last: bool = True):
        self.source = source
        self.channels_last = channels_last
        self._build(conv_bn_pairs(source))
        device = next(source.parameters()).device
        probe = torch.randn(
            1, 3, 64, 64,
            generator=torch.Generator().manual_seed(0)).to(device)
        # checked in float32: under autocast the bf16/fp16 rounding of the
        # two paths would pass for a wrong folding
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            expected = forward(source, probe)
            error = float(
                (forward(self.refresh(), probe) - expected).abs().max())
        if error > FOLD_RTOL * max(1.0, float(expected.abs().max())):
            warnings.warn(
                'FoldedCopy: folding BatchNorm into the preceding '
                f'convolutions changed the outputs by {error:.3g} (a BN '
                'that does not follow its conv?); the copy keeps its BN')
            self._build([])

    def _build(self, pairs: List[Tuple[str, str]]) -> None:
        """Make the copy, folding ``pairs``, and pair its tensors."""
        self.module = copy.deepcopy(self.source).requires_grad_(False)
        # not chained: some train() overrides (mmseg's ResNet) return None
        self.module.eval()
        modules = dict(self.module.named_modules())
        src_modules = dict(self.source.named_modules())
        self._folds = []
        for conv_name, bn_name in pairs:
            conv = modules[conv_name]
            if conv.bias is None:
                conv.bias = nn.Parameter(
                    conv.weight.new_zeros(conv.out_channels),
                    requires_grad=False)
            parent_name, _, child = bn_name.rpartition('.')
            setattr(modules[parent_name], child, nn.Identity())
            self._folds.append(
                (conv, src_modules[conv_name], src_modules[bn_name]))
        folded = {conv_name + '.' for conv_name, _ in pairs}
        sources = dict(self.source.named_parameters())
        sources.update(self.source.named_buffers())
        targets = dict(self.module.named_parameters())
        targets.update(self.module.named_buffers())
        self._copies = [(tensor, sources[name])
                        for name, tensor in targets.items()
                        if name.rpartition('.')[0] + '.' not in folded]
        if self.channels_last:
            self.module.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def refresh(self) -> nn.Module:
        """Recompute the copy from the network's current weights.

        Returns:
            nn.Module: The copy, in eval mode, without gradients.
        """
        for target, source in self._copies:
            target.copy_(source)
        for conv, src_conv, bn in self._folds:
            factor = torch.rsqrt(bn.running_var + bn.eps)
            if bn.weight is not None:
                factor = factor * bn.weight
            bias = -bn.running_mean * factor
            if src_conv.bias is not None:
                bias = bias + src_conv.bias * factor
            if bn.bias is not None:
                bias = bias + bn.bias
            conv.weight.copy_(src_conv.weight * factor.view(-1, 1, 1, 1))
            conv.bias.copy_(bias)
        return self.module
