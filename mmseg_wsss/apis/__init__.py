# Copyright (c) mmseg-wsss contributors. All rights reserved.
from . import cli
from .evaluate_masks import evaluate_pseudo_labels
from .inference import (build_infer_dataset, infer_dataset_cfg, init_model,
                        predict_image)
from .pictures import cam_grid, prediction_grid
from .pretrained import (check_pretrained_files,
                         skip_pretrained_under_checkpoint)
from .pseudo_labels import export_cfg, make_pseudo_labels
from .refined_labels import make_refined_labels, refined_export_cfg

__all__ = [
    'build_infer_dataset', 'cam_grid', 'check_pretrained_files', 'cli',
    'evaluate_pseudo_labels', 'export_cfg', 'infer_dataset_cfg', 'init_model',
    'make_pseudo_labels', 'make_refined_labels', 'predict_image',
    'prediction_grid', 'refined_export_cfg', 'skip_pretrained_under_checkpoint'
]
