# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""What of a batch holds data: its classes, its image pixels, its images."""
import torch
from mmseg.utils import SampleList
from torch import Tensor


def batch_classes(labels: Tensor) -> Tensor:
    """Indices (P,) of the classes of at least one image of the batch.

    Every CAM the self-supervision uses is masked by the image labels, so
    the maps of other classes are zero. The crop-resolution work (resize,
    region masks, MAM) runs on these P channels only: the same losses at a
    fraction of the cost (a VOC image has 1.5 of 20 classes). A batch
    without any label keeps all channels.

    Args:
        labels (Tensor): Multi-hot image labels (N, C).

    Returns:
        Tensor: Long, sorted class indices (P,).
    """
    present = labels.any(dim=0).nonzero().squeeze(1)
    if present.numel() == 0:
        present = torch.arange(labels.shape[1], device=labels.device)
    return present


def valid_pixels(inputs: Tensor, data_samples: SampleList) -> Tensor:
    """Pixels of the images, not of the batch padding.

    Args:
        inputs (Tensor): Padded images (N, 3, H, W).
        data_samples (list[SegDataSample]): Their samples; ``padding_size``
            ``(left, right, top, bottom)`` of the metainfo (the data
            preprocessor pads right and bottom), none when absent.

    Returns:
        Tensor: Bool (N, H, W).
    """
    n, _, h, w = inputs.shape
    valid = inputs.new_ones((n, h, w), dtype=torch.bool)
    for i, sample in enumerate(data_samples):
        _, right, _, bottom = sample.metainfo.get('padding_size', (0, 0, 0, 0))
        if right:
            valid[i, :, w - right:] = False
        if bottom:
            valid[i, h - bottom:] = False
    return valid


def denormalize_images(inputs: Tensor, data_preprocessor) -> Tensor:
    """The RGB images of a preprocessed batch, e.g. for a dense CRF.

    Undoes the normalisation of a ``SegDataPreProcessor`` (when it
    normalises); the channel order stays the one it outputs.

    Args:
        inputs (Tensor): Preprocessed images (N, 3, H, W).
        data_preprocessor (nn.Module): The preprocessor that made them.

    Returns:
        Tensor: uint8 images (N, H, W, 3).
    """
    if getattr(data_preprocessor, '_enable_normalize', False):
        inputs = inputs * data_preprocessor.std + data_preprocessor.mean
    return inputs.clamp(0, 255).round().byte().permute(0, 2, 3, 1)
