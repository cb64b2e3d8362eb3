# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .evaluate_masks import evaluate_pseudo_labels
from .inference import (build_infer_dataset, infer_dataset_cfg, init_model,
                        predict_image)
from .pictures import cam_grid, prediction_grid
from .pseudo_labels import make_pseudo_labels, pseudo_label

__all__ = [
    'build_infer_dataset', 'cam_grid', 'evaluate_pseudo_labels',
    'infer_dataset_cfg', 'init_model', 'make_pseudo_labels', 'predict_image',
    'prediction_grid', 'pseudo_label'
]
