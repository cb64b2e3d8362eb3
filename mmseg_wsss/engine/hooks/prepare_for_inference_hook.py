# Copyright (c) mmseg-wsss contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_wsss.models.utils.prepare_for_inference import prepare_for_inference


@HOOKS.register_module()
class PrepareForInferenceHook(Hook):
    """Fold BatchNorm and use channels-last weights before ``runner.test()``.

    Applies :func:`prepare_for_inference` to the model once its checkpoint
    is loaded (``before_test``), so that CAM evaluation with
    ``tools/test.py --fuse-conv-bn`` and the pseudo-label export run the
    faster network. Only for
    testing: the model cannot be trained afterwards, which is why there is no
    ``before_val`` counterpart (validation runs inside training).

    Args:
        fuse_bn (bool): Fold BatchNorm layers. Defaults to True.
        channels_last (bool): Convert 4-D weights to channels-last.
            Defaults to True.
    """

    priority = 'VERY_LOW'

    def __init__(self, fuse_bn: bool = True, channels_last: bool = True):
        self.fuse_bn = fuse_bn
        self.channels_last = channels_last

    def before_test(self, runner: Runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        # the test loop switches to eval mode only after this hook
        model.eval()
        prepare_for_inference(model, self.fuse_bn, self.channels_last)
