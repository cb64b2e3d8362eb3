# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import List, Optional, Union

import mmcv
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import nn

# The CRF of kazuto1011/deeplab-pytorch (main.py `crf`, libs/utils/crf.py),
# the DeepLab-v2 code that the WSSS papers' val figures come from
# (docs/model_zoo.md): 10 mean-field iterations, Gaussian kernel sxy 1
# compat 3, bilateral kernel sxy 67 srgb 3 compat 4. Like its demo.py, the
# bilateral kernel sees the raw RGB image.
DEEPLAB_CRF = dict(
    iters=10, gauss_sxy=1, gauss_compat=3, bi_sxy=67, bi_srgb=3, bi_compat=4)


@MODELS.register_module()
class DenseCRFSegTTAModel(SegTTAModel):
    """mmseg's test-time merging followed by a dense CRF on the probabilities.

    ``tools/test.py --crf`` wraps the segmentor in this model; with ``--tta``
    it takes the place of the config's ``tta_model``. mmseg has no CRF, and
    its :class:`SegTTAModel` keeps only the argmax of the merged softmax (the
    merged sample's ``seg_logits`` are those of the last view), so the
    probabilities a CRF needs are gone by the time ``IoUMetric`` sees the
    sample. This subclass merges the views the same way (the mean of their
    softmax), refines the mean with :func:`~mmseg_wsss.postprocessing.
    dense_crf` on the image read from ``img_path`` (the model's inputs are
    normalised and resized), and stores the refined probabilities in
    ``seg_logits`` and their argmax in ``pred_sem_seg``.

    ``test_step()``: each view -> ``module.test_step()`` (``seg_logits`` at
    the original size) -> :meth:`merge_preds` (mean softmax -> CRF ->
    argmax). A batch from a plain test pipeline is one view.

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
        if getattr(self.module, 'out_channels', 1) < 2:
            raise ValueError(
                'DenseCRFSegTTAModel needs a segmentor with class scores '
                '(out_channels > 1), got '
                f'{type(self.module).__name__}; CAM and IRN segmentors have '
                'their own CRF (model.test_cfg.crf)')
        # postprocessing builds on models.utils: imported here, not above
        from mmseg_wsss.postprocessing import dense_crf
        self._dense_crf = dense_crf
        self.crf = {**DEEPLAB_CRF, **(crf or {})}

    def test_step(self, data: Union[dict, tuple, list]) -> SampleList:
        """Predict a batch of one view (plain pipeline) or of several
        (``TestTimeAug``)."""
        if isinstance(data, dict) and isinstance(data['inputs'][0],
                                                 torch.Tensor):
            data = {key: [value] for key, value in data.items()}
        return super().test_step(data)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Mean softmax over the views of each image, dense CRF, argmax.

        Args:
            data_samples_list (list[list[SegDataSample]]): For each image,
                its views' samples with ``seg_logits`` (C, H, W) at the
                original image size.

        Returns:
            list[SegDataSample]: The first view's sample of each image with
            ``seg_logits`` the CRF probabilities (C, H, W) and
            ``pred_sem_seg`` their argmax (1, H, W).
        """
        merged = []
        for views in data_samples_list:
            probs = torch.stack([
                view.seg_logits.data.softmax(dim=0) for view in views
            ]).mean(dim=0)
            probs = self.refine(probs, views[0].img_path)
            sample = views[0]
            sample.set_data({
                'seg_logits':
                PixelData(data=probs),
                'pred_sem_seg':
                PixelData(data=probs.argmax(dim=0, keepdim=True))
            })
            merged.append(sample)
        return merged

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
