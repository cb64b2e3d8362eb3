# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Optional

from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS


@HOOKS.register_module()
class SupportNetEMAHook(Hook):
    """Keep :class:`DualCAMSegmentor`'s SupportNet an EMA of MainNet.

    ``before_train``: when SupportNet has never been updated (a fresh start,
    possibly after ``load_from`` of a baseline CAM checkpoint), copy MainNet
    into it, so both networks start from the same weights; after ``resume``
    SupportNet comes from the checkpoint and is left alone. Also checks that
    leave-one-out prototypes get >= 2 images: in the global batch (all
    ranks) with ``rcm_head.batch_scope='global'``, per device with
    'device'.

    ``after_train_iter``: one EMA step after every optimizer step (with
    gradient accumulation, only on the iterations that stepped).

    The model is unwrapped from DDP (``is_model_wrapper``); every rank runs
    the same update on the same synchronised MainNet parameters. MainNet's
    BatchNorm statistics are per rank under DDP (``broadcast_buffers=False``,
    mmengine's default), so SupportNet's copies of them are averaged over
    the ranks after each update: SupportNet stays identical on every rank.
    """

    priority = 'ABOVE_NORMAL'

    @staticmethod
    def _model(runner: Runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'update_support'):
            raise TypeError(
                'SupportNetEMAHook needs a model with a SupportNet '
                f'(DualCAMSegmentor), got {type(model).__name__}')
        return model

    def before_train(self, runner: Runner) -> None:
        """Synchronise SupportNet on a fresh start; check the batch size."""
        model = self._model(runner)
        batch_size = runner.train_dataloader.batch_size
        if model.with_rcm and batch_size is not None:
            scope = model.rcm_head.batch_scope
            images = batch_size * (
                runner.world_size if scope == 'global' else 1)
            if images < 2:
                where = ('over all processes'
                         if scope == 'global' else 'per process')
                raise ValueError(
                    'DualCAMSegmentor with RCM uses leave-one-out '
                    'prototypes, which need train_dataloader.batch_size >= '
                    f'2 images {where} (rcm_head.batch_scope={scope!r}), '
                    f'got {batch_size} on {runner.world_size} process(es)')
        if int(model.support.steps) == 0:
            model.update_support()

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """EMA step when the optimizer stepped in this iteration."""
        if runner.optim_wrapper.should_update():
            model = self._model(runner)
            model.update_support()
            self._average_buffers(model.support)

    @staticmethod
    def _average_buffers(support) -> None:
        if get_world_size() < 2:
            return
        for buffer in support.module.buffers():
            if buffer.is_floating_point():
                all_reduce(buffer, op='mean')
