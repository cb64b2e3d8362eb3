# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Sequence, Tuple

from mmseg.models.backbones import ResNet
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ResNetWithStem(ResNet):
    """mmseg's ``ResNet`` whose outputs may include the stem's.

    IRN's relation network (``jiwoon-ahn/irn: net/resnet50_irn.py``) reads
    five levels: the stem after its max-pool (stride 4, 64 channels for a
    ResNet-50) and the four stages. mmseg's ``ResNet`` returns stages only,
    so here output index 0 is the stem and index ``i + 1`` is stage ``i``;
    everything else (layouts, strides, ``init_cfg``, freezing) is
    ``ResNet``'s.

    Args:
        out_indices (Sequence[int]): Levels to return, 0 the stem, 1..4 the
            stages. Defaults to (0, 1, 2, 3, 4).
        **kwargs: The arguments of mmseg's ``ResNet`` (its ``out_indices``
            excepted).
    """

    def __init__(self, out_indices: Sequence[int] = (0, 1, 2, 3, 4),
                 **kwargs) -> None:
        # ResNet's own out_indices name stages; forward() below picks levels
        super().__init__(
            out_indices=tuple(range(kwargs.get('num_stages', 4))), **kwargs)
        levels = self.num_stages + 1
        if not out_indices or any(not 0 <= i < levels for i in out_indices):
            raise ValueError(
                f'ResNetWithStem: out_indices must lie in 0..{levels - 1} '
                f'(0 the stem), got {out_indices}')
        self.out_indices = tuple(out_indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The chosen levels of images (N, 3, H, W)."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        levels = [self.maxpool(x)]
        for name in self.res_layers:
            levels.append(getattr(self, name)(levels[-1]))
        return tuple(levels[i] for i in self.out_indices)
