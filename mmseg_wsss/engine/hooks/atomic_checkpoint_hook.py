# Copyright (c) mmseg-wsss contributors. All rights reserved.
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_wsss.utils import write_file_atomically


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints survive a crash while saving.

    mmengine 0.10.7's hook writes a checkpoint with ``LocalBackend.put``,
    which truncates the file first, removes the oldest kept checkpoint
    *before* writing the new one and writes ``last_checkpoint`` in place: a
    ``SIGKILL``, full disk or quota error while saving can leave a partial
    file, no checkpoint at all (``max_keep_ckpts=1``) or a
    ``last_checkpoint`` naming a deleted file. This hook, selected in
    ``configs/_base_/default_runtime.py``:

    - writes local checkpoints through the ``local_atomic`` file backend
      (temporary file, ``fsync``, rename; see
      :class:`~mmseg_wsss.utils.AtomicLocalBackend`), so the best-checkpoint
      path that rewrites the latest file is atomic too;
    - per saved step: writes the new checkpoint, replaces
      ``last_checkpoint`` atomically, and only then removes the oldest kept
      checkpoint. The bookkeeping (``keep_ckpt_ids``, ``last_ckpt`` in the
      message hub) is mmengine's, so a run resumes across both hooks.

    Other storage backends (``backend_args`` or a remote ``out_dir``) are
    used as configured. Arguments are those of ``CheckpointHook``.
    """

    def before_train(self, runner: Runner) -> None:
        """Resolve ``out_dir`` (mmengine) and use atomic local writes."""
        super().before_train(runner)
        if (self.file_client_args is None and self.backend_args is None
                and type(self.file_backend) is LocalBackend):
            self.backend_args = dict(backend='local_atomic')
            self.file_backend = get_file_backend(
                self.out_dir, backend_args=self.backend_args)

    def _save_checkpoint_with_step(self, runner: Runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``, then prune the oldest one.

        Overrides ``CheckpointHook``'s method of the same name, which every
        save (periodic, last and best) goes through, with the order of
        operations reversed.
        """
        stale = None
        keep_ids = self.keep_ckpt_ids if self.max_keep_ckpts > 0 else None
        # the best-checkpoint path saves the same step a second time
        if keep_ids is not None and (not keep_ids or keep_ids[-1] != step):
            if len(keep_ids) == self.max_keep_ckpts:
                stale = keep_ids[0]
            keep_ids.append(step)  # a full deque drops ``stale`` here
            runner.message_hub.update_info('keep_ckpt_ids', list(keep_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        write_file_atomically(self.last_ckpt.encode(),
                              osp.join(runner.work_dir, 'last_checkpoint'))
        if stale is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(stale))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                # checkpoints saved by DeepSpeed are directories
                self.file_backend.rmtree(path)
