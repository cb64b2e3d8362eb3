# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .coco_wsss import WeakCOCODataset
from .integrity import check_image_bytes, check_mask_matches_image
from .label_sources import (VOC_FG_CLASSES, labels_from_mask, labels_from_xml,
                            load_cls_labels)
from .samplers import SkipExistingSampler
from .toy_voc import ensure_toy_voc, make_toy_voc
from .transforms import PackWSSSInputs
from .voc_seg import VOCSegDataset
from .voc_wsss import WeakVOCDataset
from .weak_seg_dataset import WeakSegDataset

__all__ = [
    'WeakSegDataset', 'WeakVOCDataset', 'WeakCOCODataset', 'PackWSSSInputs',
    'VOC_FG_CLASSES', 'load_cls_labels', 'labels_from_xml', 'labels_from_mask',
    'check_image_bytes', 'check_mask_matches_image', 'SkipExistingSampler',
    'ensure_toy_voc', 'make_toy_voc', 'VOCSegDataset'
]
