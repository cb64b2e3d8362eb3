# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .evaluate_masks import evaluate_pseudo_labels, read_split_names
from .inference import prepare_for_inference
from .pseudo_labels import (build_infer_dataset, encode_palette_png,
                            init_cam_model, make_pseudo_labels, predict_image,
                            pseudo_label, read_rgb, voc_palette)

__all__ = [
    'build_infer_dataset', 'encode_palette_png', 'evaluate_pseudo_labels',
    'init_cam_model', 'make_pseudo_labels', 'predict_image',
    'prepare_for_inference', 'pseudo_label', 'read_rgb', 'read_split_names',
    'voc_palette'
]
