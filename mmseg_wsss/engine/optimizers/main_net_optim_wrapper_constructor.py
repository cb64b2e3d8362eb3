# Copyright (c) mmseg-wsss contributors. All rights reserved.
import logging
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseAveragedModel
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MainNetOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, without the averaged models.

    An mmengine ``BaseAveragedModel`` (:class:`DualCAMSegmentor`'s
    SupportNet, an EMA of MainNet) follows its source model, not gradients,
    and its parameters do not require them. With a ``paramwise_cfg`` the
    default constructor visits them one by one and logs a warning for each
    (hundreds for a ResNet-50); this one leaves such a submodule out of the
    parameter groups and says so in one line. Without ``paramwise_cfg``
    both hand ``model.parameters()`` to the optimizer, which never updates a
    parameter without a gradient. Likewise a layer whose parameters are all
    frozen (``requires_grad=False``, e.g. the BatchNorms and first layers
    of :class:`WideResNet38`) is left out with one line in all, not a
    warning per tensor. Select it with
    ``optim_wrapper=dict(constructor='MainNetOptimWrapperConstructor')``.

    Custom keys anchored at the model's root: mmengine matches each key of
    ``paramwise_cfg.custom_keys`` as a substring of a parameter's full name
    (longest key first), so ``'cam_head'`` also matches
    ``recam_head.predictor.weight`` and ``support.cam_head...``, and mmengine
    writes top-level names without a leading dot, so no key can say "this
    module and no other". This constructor hands mmengine every name with a
    leading dot (``.cam_head.classifier.weight``): a key ``'.cam_head.'``
    matches the parameters of the top-level module ``cam_head`` alone, and
    ``'.backbone.layer4.'`` those of one stage. A key without a leading dot
    matches as in mmengine. A custom key that matches no parameter is
    reported in one warning line (a misspelt or wrongly anchored key would
    otherwise change nothing in silence).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self._frozen: List[str] = []

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optim wrapper; log the frozen layers left out."""
        self._frozen = []
        wrapper = super().__call__(model)
        self._warn_unmatched_keys(model)
        if self._frozen:
            shown = ', '.join(self._frozen[:6])
            more = ', ...' if len(self._frozen) > 6 else ''
            print_log(
                f'{len(self._frozen)} frozen layers (requires_grad=False) are '
                f'left out of the optimizer: {shown}{more}',
                logger='current')
        return wrapper

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """Add the parameters of ``module`` unless it is an averaged model
        or a layer (no children) whose parameters are all frozen; the name
        of a top-level module gets its leading dot here, so that mmengine
        matches the custom keys against ``.cam_head.classifier.weight``.

        Args:
            params (list[dict]): Parameter groups, extended in place.
            module (nn.Module): The module to add.
            prefix (str): Its name in the model. Defaults to ''.
            is_dcn_module (int | float, optional): See
                ``DefaultOptimWrapperConstructor.add_params``.
        """
        if prefix and not prefix.startswith('.'):
            # a top-level module: anchor its name (see the class docstring)
            prefix = '.' + prefix
        name = prefix.lstrip('.')
        if isinstance(module, BaseAveragedModel):
            print_log(
                f'{name} ({type(module).__name__}) is left out of the '
                'optimizer: it follows its source model, not gradients',
                logger='current')
            return
        own = list(module.parameters(recurse=False))
        if own and not any(p.requires_grad for p in own) and not any(
                True for _ in module.children()):
            self._frozen.append(name)
            return
        super().add_params(params, module, prefix, is_dcn_module)

    def _warn_unmatched_keys(self, model: nn.Module) -> None:
        """Warn once about custom keys that match no parameter name."""
        custom_keys = (self.paramwise_cfg or {}).get('custom_keys', {})
        if hasattr(model, 'module'):
            model = model.module
        names = ['.' + name for name, _ in model.named_parameters()]
        unmatched = [
            key for key in custom_keys
            if not any(key in name for name in names)
        ]
        if unmatched:
            print_log(
                f'paramwise_cfg.custom_keys {unmatched} match no parameter of '
                'the model (a top-level module is written with a leading '
                "dot, e.g. '.cam_head.')",
                logger='current',
                level=logging.WARNING)
