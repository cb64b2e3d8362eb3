# Copyright (c) mmseg-wsss contributors. All rights reserved.
from typing import List, Union

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import nn


@MODELS.register_module()
class SoftmaxSegTTAModel(SegTTAModel):
    """mmseg's test-time merging (the mean softmax of the views) that keeps
    the merged probabilities.

    mmseg's :class:`SegTTAModel` keeps only the argmax of the merged
    softmax: the merged sample's ``seg_logits`` are those of its first view,
    and its 2-d ``pred_sem_seg`` makes mmengine warn once per image. This
    subclass merges the views the same way and stores the mean softmax in
    ``seg_logits`` and its argmax (1, H, W) in ``pred_sem_seg``; the metric
    sees the same labels as with mmseg's. Subclasses refine the mean in
    :meth:`refine` (e.g. :class:`DenseCRFSegTTAModel`).

    ``test_step()``: each view -> ``module.test_step()`` (``seg_logits`` at
    the original size) -> :meth:`merge_preds` (mean softmax -> refine ->
    argmax). A batch from a plain test pipeline is one view.

    Args:
        module (dict | nn.Module): The segmentor, e.g. an ``EncoderDecoder``
            with more than one output channel.
        data_preprocessor (dict | nn.Module, optional): See
            :class:`~mmengine.model.BaseTTAModel`. Defaults to None.
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 data_preprocessor: Union[dict, nn.Module, None] = None):
        super().__init__(module, data_preprocessor)
        if getattr(self.module, 'out_channels', 1) < 2:
            raise ValueError(
                f'{type(self).__name__} needs a segmentor with class scores '
                '(out_channels > 1), got '
                f'{type(self.module).__name__}; CAM and IRN segmentors have '
                'their own multi-scale inference and CRF (model.test_cfg)')

    def test_step(self, data: Union[dict, tuple, list]) -> SampleList:
        """Predict a batch of one view (plain pipeline) or of several
        (``TestTimeAug``)."""
        if isinstance(data, dict) and isinstance(data['inputs'][0],
                                                 torch.Tensor):
            data = {key: [value] for key, value in data.items()}
        return super().test_step(data)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Mean softmax over the views of each image, :meth:`refine`,
        argmax.

        Args:
            data_samples_list (list[list[SegDataSample]]): For each image,
                its views' samples with ``seg_logits`` (C, H, W) at the
                original image size.

        Returns:
            list[SegDataSample]: The first view's sample of each image with
            ``seg_logits`` the merged probabilities (C, H, W) and
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
        """The merged probabilities (C, H, W) of the image ``img_path``, as
        they are; subclasses post-process them here."""
        return probs
