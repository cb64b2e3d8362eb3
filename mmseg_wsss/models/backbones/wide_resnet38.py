# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The wide ResNet-38 of PSA, SEAM and most WSSS work since ("resnet38d").

Architecture, key names and freezing follow PSA's ``network/resnet38d.py``
(with SEAM, 1-stage-wseg and the original MXNet model, ademxapp's "Model
A1", read for the same facts; the code is ours;
``docs/advanced_guides/resnet38_preset.md`` summarises them). Module names
are load-bearing: they equal the keys of the converted ImageNet file
(``conv1a.weight``, ``b4_5.bn_branch2b1.bias``, ...),
so the blocks are attributes of the backbone itself, not members of an
``nn.Sequential``.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

#: Where the docs say to put (and how to obtain) the converted ImageNet file.
WEIGHTS_DOC = 'docs/advanced_guides/resnet38_preset.md'


class PreActBlock(nn.Module):
    """Pre-activation residual block of two 3x3 convs (PSA's ``ResBlock``).

    ``t = ReLU(bn_branch2a(x))``; main path ``conv_branch2a(t)`` -> BN ->
    ReLU -> ``conv_branch2b1``; the shortcut is ``conv_branch1(t)`` when the
    shape changes, otherwise the raw ``x`` (not ``t``); no ReLU after the
    sum. ``t`` is returned too: the backbone's feature taps are the next
    block's BN-ReLU'd input.

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Output channels of the first 3x3 conv.
        out_channels (int): Output channels.
        stride (int): Stride of the first 3x3 conv and of the projection.
            Defaults to 1.
        dilation (int): Dilation (and padding) of the second 3x3 conv.
            Defaults to 1.
        first_dilation (int, optional): Dilation of the first 3x3 conv.
            Defaults to None (``dilation``).
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 dilation: int = 1,
                 first_dilation: Optional[int] = None,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        first_dilation = dilation if first_dilation is None else first_dilation
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv_branch2a = nn.Conv2d(
            in_channels,
            mid_channels,
            3,
            stride,
            padding=first_dilation,
            dilation=first_dilation,
            bias=False)
        self.bn_branch2b1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv_branch2b1 = nn.Conv2d(
            mid_channels,
            out_channels,
            3,
            padding=dilation,
            dilation=dilation,
            bias=False)
        self.same_shape = in_channels == out_channels and stride == 1
        if not self.same_shape:
            self.conv_branch1 = nn.Conv2d(
                in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Block output and BN-ReLU'd input.

        Args:
            x (Tensor): Input (N, in_channels, H, W).

        Returns:
            tuple[Tensor, Tensor]: Output (N, out_channels, H', W'),
            ``H' = ceil(H / stride)``, and ``t`` (N, in_channels, H, W).
        """
        t = F.relu(self.bn_branch2a(x))
        shortcut = x if self.same_shape else self.conv_branch1(t)
        out = self.conv_branch2b1(
            F.relu(self.bn_branch2b1(self.conv_branch2a(t))))
        return shortcut + out, t


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck with dropout (PSA's ``ResBlock_bot``).

    ``t = ReLU(bn_branch2a(x))``; main path: 1x1 ``conv_branch2a`` to
    ``out / 4`` -> BN -> ReLU -> Dropout2d -> dilated 3x3 ``conv_branch2b1``
    to ``out / 2`` -> BN -> ReLU -> Dropout2d -> 1x1 ``conv_branch2b2`` to
    ``out``; shortcut ``conv_branch1(t)`` (always a projection); no ReLU
    after the sum. PSA drops before both inner convs (the MXNet original
    only before the last); the weights do not depend on it.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels (a multiple of 4).
        dilation (int): Dilation (and padding) of the 3x3 conv.
        dropout (float): Probability of the two ``nn.Dropout2d``.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 dilation: int,
                 dropout: float,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        quarter, half = out_channels // 4, out_channels // 2
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv_branch2a = nn.Conv2d(in_channels, quarter, 1, bias=False)
        self.bn_branch2b1 = build_norm_layer(norm_cfg, quarter)[1]
        self.dropout_2b1 = nn.Dropout2d(dropout)
        self.conv_branch2b1 = nn.Conv2d(
            quarter, half, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn_branch2b2 = build_norm_layer(norm_cfg, half)[1]
        self.dropout_2b2 = nn.Dropout2d(dropout)
        self.conv_branch2b2 = nn.Conv2d(half, out_channels, 1, bias=False)
        self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Block output (N, out_channels, H, W) and BN-ReLU'd input ``t``
        (N, in_channels, H, W)."""
        t = F.relu(self.bn_branch2a(x))
        out = self.conv_branch2a(t)
        out = self.conv_branch2b1(
            self.dropout_2b1(F.relu(self.bn_branch2b1(out))))
        out = self.conv_branch2b2(
            self.dropout_2b2(F.relu(self.bn_branch2b2(out))))
        return self.conv_branch1(t) + out, t


@MODELS.register_module()
class WideResNet38(BaseModule):
    """Wide ResNet-38 at output stride 8 (PSA's "resnet38d").

    ``forward()``: ``conv1a`` (3x3, 64, full resolution, no BN after it) ->
    level 2 (``b2``, ``b2_1``, ``b2_2``; stride 2) -> level 3 (``b3*``;
    stride 4) -> level 4 (``b4``, ``b4_1`` .. ``b4_5``; stride 8) -> level 5
    (``b5*``, dilation 2 instead of stride) -> ``b6``, ``b7`` (bottlenecks,
    dilation 4, dropout) -> ``bn7`` + ReLU. Spatial sizes round up:
    ``ceil(H / 8)`` at the end (448 -> 56).

    Outputs, chosen by ``out_indices`` (at width 1; ``width_mult`` scales
    the channels):

    ====== ======== ====== ===================================================
    index  channels stride what
    ====== ======== ====== ===================================================
    0      128      2      ReLU(b3.bn_branch2a(level-2 output))
    1      256      4      ReLU(b4.bn_branch2a(level-3 output)) (SEAM conv3)
    2      512      8      ReLU(b5.bn_branch2a(level-4 output)) (PSA conv4)
    3      1024     8      ReLU(b6.bn_branch2a(level-5 output)) (PSA conv5)
    4      2048     8      ReLU(b7.bn_branch2a(b6 output))
    5      4096     8      ReLU(bn7(b7 output)) (PSA conv6, the CAM feature)
    ====== ======== ====== ===================================================

    Each tap is the next block's BN-ReLU'd input, as in PSA, so it shares
    that block's (frozen) BatchNorm.

    Freezing, as PSA, SEAM and 1-stage-wseg train it: ``frozen_bn`` keeps
    every BatchNorm in eval mode (ImageNet statistics) with its affine
    parameters fixed; ``frozen_layers`` get no gradient (PSA's CAM and
    affinity nets: ``conv1a`` and level 2). Dropout stays active in
    training.

    Pretrained weights: ``init_cfg=dict(type='Pretrained',
    checkpoint=PATH, prefix=None)`` loads a state dict keyed by the module
    names (the converted MXNet ImageNet file, or a PSA checkpoint); keys
    the file lacks are an error (``num_batches_tracked`` excepted), keys
    the backbone lacks (e.g. PSA's ``fc8.weight``) are reported. See
    ``docs/advanced_guides/resnet38_preset.md`` for the file.

    Args:
        out_indices (Sequence[int]): Outputs to return, see the table.
            Defaults to (5, ).
        width_mult (float): Multiplies every channel count (1 is the
            ImageNet model; e.g. 1/16 for a CPU-sized toy). The bottleneck
            widths must stay divisible by 4. Defaults to 1.0.
        dropouts (tuple[float, float]): Dropout2d probabilities of ``b6``
            and ``b7``. Defaults to (0.3, 0.5).
        frozen_bn (bool): Freeze every BatchNorm (statistics and affine).
            Defaults to True.
        frozen_layers (Sequence[str]): Names of modules whose parameters
            get no gradient. Defaults to ('conv1a', 'b2', 'b2_1', 'b2_2').
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): None (PyTorch's default init) or
            ``dict(type='Pretrained', checkpoint=..., prefix=None)``.
            Defaults to None.
    """

    #: Output channels of each tap at ``width_mult=1``.
    TAP_CHANNELS = (128, 256, 512, 1024, 2048, 4096)
    #: Output stride of each tap.
    TAP_STRIDES = (2, 4, 8, 8, 8, 8)

    def __init__(self,
                 out_indices: Sequence[int] = (5, ),
                 width_mult: float = 1.0,
                 dropouts: Tuple[float, float] = (0.3, 0.5),
                 frozen_bn: bool = True,
                 frozen_layers: Sequence[str] = ('conv1a', 'b2', 'b2_1',
                                                 'b2_2'),
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.out_indices = tuple(out_indices)
        if not self.out_indices or not all(0 <= i < len(self.TAP_CHANNELS)
                                           for i in self.out_indices):
            raise ValueError('WideResNet38: out_indices must be a non-empty '
                             f'subset of 0..{len(self.TAP_CHANNELS) - 1}, '
                             f'got {out_indices}')
        widths = [64] + list(self.TAP_CHANNELS)
        scaled = [round(c * width_mult) for c in widths]
        if any(s < 1 or abs(s - c * width_mult) > 1e-6
               for s, c in zip(scaled, widths)) or scaled[-1] % 4 or \
                scaled[-2] % 4:
            raise ValueError(
                f'WideResNet38: width_mult={width_mult} must scale the '
                f'widths {widths} to whole numbers >= 1, the last two '
                'divisible by 4 (e.g. 1, 1/2, 1/4, 1/8, 1/16)')
        self.width_mult = width_mult
        self.out_channels = tuple(scaled[1 + i] for i in self.out_indices)
        c64, c128, c256, c512, c1024, c2048, c4096 = scaled

        def block(name, *args, **kwargs):
            self.add_module(name,
                            PreActBlock(*args, **kwargs, norm_cfg=norm_cfg))
            return name

        self.conv1a = nn.Conv2d(3, c64, 3, padding=1, bias=False)
        # (first block, following blocks) of each level; the first block's
        # bn_branch2a turns the previous level's output into its tap
        self.levels: List[List[str]] = [
            [block('b2', c64, c128, c128, stride=2)] +
            [block(f'b2_{k}', c128, c128, c128) for k in (1, 2)],
            [block('b3', c128, c256, c256, stride=2)] +
            [block(f'b3_{k}', c256, c256, c256) for k in (1, 2)],
            [block('b4', c256, c512, c512, stride=2)] +
            [block(f'b4_{k}', c512, c512, c512) for k in range(1, 6)],
            # dilation replaces the ImageNet model's stride (output stride
            # 8); only b5's second conv is dilated
            [block('b5', c512, c512, c1024, dilation=2, first_dilation=1)] +
            [block(f'b5_{k}', c1024, c512, c1024, dilation=2) for k in (1, 2)],
        ]
        self.b6 = PreActBottleneck(c1024, c2048, 4, dropouts[0], norm_cfg)
        self.b7 = PreActBottleneck(c2048, c4096, 4, dropouts[1], norm_cfg)
        self.levels += [['b6'], ['b7']]
        self.bn7 = build_norm_layer(norm_cfg, c4096)[1]

        self.frozen_bn = frozen_bn
        self.frozen_layers = tuple(frozen_layers)
        names = dict(self.named_children())
        unknown = [n for n in self.frozen_layers if n not in names]
        if unknown:
            raise ValueError(f'WideResNet38: frozen_layers {unknown} are not '
                             f'modules of the backbone ({", ".join(names)})')
        self._freeze()

    def _freeze(self) -> None:
        """No gradient for ``frozen_layers`` and (``frozen_bn``) all BN."""
        for name in self.frozen_layers:
            getattr(self, name).requires_grad_(False)
        if self.frozen_bn:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.requires_grad_(False)

    def train(self, mode: bool = True) -> 'WideResNet38':
        """Set the mode; with ``frozen_bn`` every BatchNorm stays in eval."""
        super().train(mode)
        if mode and self.frozen_bn:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The outputs of ``out_indices``.

        Args:
            x (Tensor): Images (N, 3, H, W), RGB, ImageNet mean/std.

        Returns:
            tuple[Tensor]: One (N, C_i, ceil(H / s_i), ceil(W / s_i)) per
            index, with the channels and strides of the class table.
        """
        taps = []
        x = self.conv1a(x)
        for level in self.levels:
            for k, name in enumerate(level):
                x, t = getattr(self, name)(x)
                if k == 0 and name != 'b2':
                    taps.append(t)
        taps.append(F.relu(self.bn7(x)))
        return tuple(taps[i] for i in self.out_indices)

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint by key name, or keep the default
        init.

        mmengine's ``Pretrained`` loads with ``strict=False``, which
        silently skips misnamed keys: with this backbone's long list of
        hand-named modules a renamed key would leave a layer random. Here
        every key the file lacks is an error.

        Raises:
            FileNotFoundError: The local checkpoint file does not exist.
            KeyError: The checkpoint lacks keys of the backbone (beyond
                ``num_batches_tracked``); the message names them.
            ValueError: A tensor's shape differs from the backbone's (e.g.
                another ``width_mult``).
        """
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        checkpoint = cfg['checkpoint']
        if '://' not in checkpoint and not osp.isfile(
                osp.expanduser(checkpoint)):
            raise FileNotFoundError(
                f'WideResNet38: pretrained weights {checkpoint} do not exist;'
                f' {WEIGHTS_DOC} says where to obtain the converted ImageNet '
                'file, or set model.backbone.init_cfg=None for random '
                'weights')
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location=cfg.get('map_location', 'cpu'))
        state = load_backbone_state(self, loaded, checkpoint,
                                    cfg.get('prefix'))
        self.load_state_dict(state, strict=False)
        self._is_init = True


def load_backbone_state(module: nn.Module,
                        checkpoint: dict,
                        filename: str,
                        prefix: Optional[str] = None) -> dict:
    """The entries of a checkpoint for ``module``, checked by name and shape.

    Args:
        module (nn.Module): The module to load into.
        checkpoint (dict): A state dict, or a dict with ``state_dict``.
        filename (str): Its file, for the messages.
        prefix (str, optional): Keep only keys starting with it (e.g.
            ``'backbone.'`` for a segmentor checkpoint) and strip it.
            Defaults to None.

    Returns:
        dict[str, Tensor]: The entries whose names ``module`` has.

    Raises:
        KeyError: ``module`` has keys (other than ``num_batches_tracked``)
            that the checkpoint lacks; all are named.
        ValueError: A shape differs; the first few are named.
    """
    state = checkpoint.get('state_dict', checkpoint)
    if prefix:
        state = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
        if not state:
            raise KeyError(f'{filename} has no key starting with {prefix!r}')
    own = module.state_dict()
    missing = sorted(
        k for k in own
        if k not in state and not k.endswith('.num_batches_tracked'))
    if missing:
        raise KeyError(
            f'{filename} lacks {len(missing)} key(s) of '
            f'{type(module).__name__}: {", ".join(missing)}. A renamed or '
            'prefixed file? Expected names like conv1a.weight, '
            'b4_5.bn_branch2b1.bias (set init_cfg.prefix to strip a prefix)')
    wrong = [(k, tuple(v.shape), tuple(own[k].shape))
             for k, v in state.items() if k in own and v.shape != own[k].shape]
    if wrong:
        shown = '; '.join(f'{k}: file {a}, model {b}' for k, a, b in wrong[:3])
        raise ValueError(
            f'{filename}: {len(wrong)} tensor(s) differ in shape from '
            f'{type(module).__name__} ({shown}); is width_mult right?')
    unexpected = sorted(k for k in state if k not in own)
    if unexpected:
        print_log(
            f'{filename}: {len(unexpected)} key(s) not in '
            f'{type(module).__name__}, not loaded: '
            f'{", ".join(unexpected[:10])}'
            f'{", ..." if len(unexpected) > 10 else ""}',
            logger='current')
    return {k: v for k, v in state.items() if k in own}
