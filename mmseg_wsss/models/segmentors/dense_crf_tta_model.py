# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import Optional, Union

import mmcv
import numpy as np
import torch
from mmseg.registry import MODELS
from torch import nn

from .softmax_seg_tta_model import SoftmaxSegTTAModel

# The CRF of kazuto1011/deeplab-pytorch (main.py `crf`, libs/utils/crf.py),
# the DeepLab-v2 code that the WSSS papers' val figures come from
# (docs/model_zoo.md): 10 mean-field iterations, Gaussian kernel sxy 1
# compat 3, bilateral kernel sxy 67 srgb 3 compat 4. Like its demo.py, the
# bilateral kernel sees the raw RGB image.
DEEPLAB_CRF = dict(
    iters=10, gauss_sxy=1, gauss_compat=3, bi_sxy=67, bi_srgb=3, bi_compat=4)


@MODELS.register_module()
class DenseCRFSegTTAModel(SoftmaxSegTTAModel):
    """The mean softmax of :class:`SoftmaxSegTTAModel` refined by a dense
    CRF.

    ``tools/test.py --crf`` wraps the segmentor in this model; with ``--tta``
    it takes the place of the config's ``tta_model``. mmseg has no CRF, and
    its :class:`SegTTAModel` keeps only the argmax of the merged softmax, so
    the probabilities a CRF needs are gone by the time ``IoUMetric`` sees
    the sample. :meth:`refine` runs :func:`~mmseg_wsss.postprocessing.
    dense_crf` on the mean softmax and the image read from ``img_path`` (the
    model's inputs are normalised and resized); the refined probabilities go
    to ``seg_logits``, their argmax to ``pred_sem_seg``.

    Args:
        module (dict | nn.Module): The segmentor, e.g. an ``EncoderDecoder``
            with more than one output channel.
        crf (dict, optional): Keyword arguments of
            :func:`~mmseg_wsss.postprocessing.dense_crf` overriding
            :data:`DEEPLAB_CRF`. Defaults to None.
        data_preprocessor (dict | nn.Module, optional): See
            :class:`~mmengine.model.BaseTTAModel`. Defaults to None.
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 crf: Optional[dict] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None):
        super().__init__(module, data_preprocessor)
        # postprocessing builds on models.utils: imported here, not above
        from mmseg_wsss.postprocessing import dense_crf
        self._dense_crf = dense_crf
        self.crf = {**DEEPLAB_CRF, **(crf or {})}

    def refine(self, probs: torch.Tensor, img_path: str) -> torch.Tensor:
        """Dense-CRF probabilities of one image.

        Args:
            probs (Tensor): Class probabilities (C, H, W) at the size of the
                image file.
            img_path (str): The image file.

        Returns:
            Tensor: Refined probabilities (C, H, W), float32, on the device
            of ``probs``.
        """
        img = mmcv.imread(img_path, channel_order='rgb')
        if img.shape[:2] != tuple(probs.shape[1:]):
            raise ValueError(
                f'DenseCRFSegTTAModel: {img_path} is {img.shape[:2]} but the '
                f'predictions are {tuple(probs.shape[1:])}; the CRF needs '
                'them at the original image size')
        refined = self._dense_crf(
            np.ascontiguousarray(img),
            probs.float().cpu().numpy(), **self.crf)
        return torch.from_numpy(refined).to(probs.device)

    def extra_repr(self) -> str:
        return ', '.join(f'{k}={v}' for k, v in self.crf.items())
