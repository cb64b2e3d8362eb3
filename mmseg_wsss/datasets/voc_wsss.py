# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""PASCAL VOC 2012 with image-level labels for weakly supervised training."""
import copy

from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from .weak_seg_dataset import WeakSegDataset


@DATASETS.register_module()
class WeakVOCDataset(WeakSegDataset):
    """PASCAL VOC 2012 with image-level labels, for WSSS.

    :class:`WeakSegDataset` with VOC's 21 classes (mmseg's
    :class:`PascalVOCDataset` metainfo) in VOC's layout::

        data_root/
            JPEGImages/{name}.jpg
            SegmentationClass/{name}.png       (or SegmentationClassAug/)
            Annotations/{name}.xml
            ImageSets/Segmentation/{train_aug,train,val}.txt
            cls_labels.npy                     (optional, IRN style)

    ``img_labels`` are float32 (20,) vectors. ``metainfo`` may not change
    the classes: VOC's label files are in their order.

    Args:
        ann_file (str): Split file, one image name per line.
        **kwargs: The other arguments of :class:`WeakSegDataset`.
    """
    METAINFO = copy.deepcopy(PascalVOCDataset.METAINFO)
