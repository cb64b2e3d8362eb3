# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .affinity import (affinity_from_boundary, pair_offsets,
                       relation_pair_labels, segment_pixels)
from .batch import batch_classes, denormalize_images, valid_pixels
from .cam import (cams_to_seg_logits, multiscale_cams, normalize_cams,
                  region_mask, scale_cams, strided_size, sum_resized)
from .class_features import class_specific_features
from .folded_copy import FoldedCopy, conv_bn_pairs
from .normalize import l2_normalize
from .random_walk import random_walk, transition_matrix
from .scales import check_scales, rescale_images

__all__ = [
    'pair_offsets', 'segment_pixels', 'affinity_from_boundary',
    'relation_pair_labels', 'transition_matrix', 'random_walk',
    'normalize_cams', 'region_mask', 'multiscale_cams', 'scale_cams',
    'sum_resized', 'strided_size', 'cams_to_seg_logits', 'l2_normalize',
    'check_scales', 'rescale_images', 'batch_classes', 'denormalize_images',
    'valid_pixels', 'class_specific_features', 'FoldedCopy', 'conv_bn_pairs'
]
