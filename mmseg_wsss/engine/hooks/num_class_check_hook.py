# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import List, Tuple

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import Runner
from mmseg.models import BaseSegmentor
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import HOOKS
from torch import nn


def class_count_mismatches(
        model: nn.Module,
        num_dataset_classes: int) -> List[Tuple[str, int, int]]:
    """The modules whose ``num_classes`` disagrees with a data set's.

    mmseg-wsss' modules count foreground classes (``C``, background
    implied), decode heads (``BaseDecodeHead``, ours included) and mmseg's
    segmentors all classes (``C + 1``);
    other modules are not checked. A module is left out when one of its
    sub-modules already disagrees (a segmentor takes its count from its
    head), so each config key to change is named once.

    Args:
        model (nn.Module): The model (unwrapped).
        num_dataset_classes (int): ``len(dataset.metainfo['classes'])``,
            background included.

    Returns:
        list[tuple[str, int, int]]: ``(config key, num_classes, expected)``
        of each disagreeing module, e.g. ``('model.cam_head.num_classes',
        20, 80)``.
    """
    found = []
    for name, module in model.named_modules():
        count = getattr(module, 'num_classes', None)
        if not isinstance(count, int):
            continue
        if isinstance(module, BaseDecodeHead):
            # mmseg's decode-head contract, ours too (DeepLabV2Head)
            expected = num_dataset_classes
        elif type(module).__module__.startswith('mmseg_wsss.'):
            expected = num_dataset_classes - 1
        elif isinstance(module, BaseSegmentor):
            expected = num_dataset_classes
        else:
            continue
        if count != expected:
            found.append((name, count, expected))
    leaves = [(name, count, expected) for name, count, expected in found
              if not any(
                  other.startswith(f'{name}.') or (not name and other)
                  for other, _, _ in found)]
    return [('.'.join(filter(None,
                             ('model', name, 'num_classes'))), count, expected)
            for name, count, expected in leaves]


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Check every head's ``num_classes`` against the data set it runs on.

    Before training, validation and testing, compares the ``num_classes``
    of the model's heads (see :func:`class_count_mismatches`) with the
    classes of the loop's dataset (``metainfo['classes']``), and raises an
    error naming both numbers and the config keys to change. Without it a
    COCO dataset under a VOC head fails later with a shape error, or not at
    all (a metric over the wrong classes).
    """

    priority = 'VERY_HIGH'

    def _check(self, runner: Runner, loader_key: str, loader) -> None:
        dataset = loader.dataset
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if not classes:
            return
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        # tools/test.py --tta / --crf wrap the segmentor in a BaseTTAModel
        if isinstance(model, BaseTTAModel):
            model = model.module
        mismatches = class_count_mismatches(model, len(classes))
        if not mismatches:
            return
        heads = '; '.join(f'{key}={count} (expected {expected})'
                          for key, count, expected in mismatches)
        fixes = ', '.join(f'{key}={expected}'
                          for key, _, expected in mismatches)
        raise ValueError(
            f'the model does not fit the {type(dataset).__name__} of '
            f'{loader_key}, which has {len(classes)} classes '
            f'({len(classes) - 1} foreground + background): {heads}. '
            "mmseg-wsss heads count foreground classes, mmseg's decode "
            f'heads all classes. Set {fixes} in the config, or the '
            f'classes of {loader_key}.dataset (its type or '
            'metainfo.classes)')

    def before_train(self, runner: Runner) -> None:
        self._check(runner, 'train_dataloader', runner.train_dataloader)

    def before_val(self, runner: Runner) -> None:
        self._check(runner, 'val_dataloader', runner.val_dataloader)

    def before_test(self, runner: Runner) -> None:
        self._check(runner, 'test_dataloader', runner.test_dataloader)
