# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .transforms import PackWSSSInputs
from .voc_wsss import (VOC_FG_CLASSES, WeakVOCDataset, check_image_bytes,
                       check_mask_matches_image, labels_from_mask,
                       labels_from_xml, load_cls_labels)

__all__ = [
    'WeakVOCDataset', 'PackWSSSInputs', 'VOC_FG_CLASSES', 'load_cls_labels',
    'labels_from_xml', 'labels_from_mask', 'check_image_bytes',
    'check_mask_matches_image'
]
