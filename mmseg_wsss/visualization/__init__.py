# Copyright (c) mmseg-wsss contributors. All rights reserved.
from .grids import (CAPTION_HEIGHT, cam_overlay, colour_mask, draw_cam_grid,
                    draw_prediction_grid, grey_map)

__all__ = [
    'CAPTION_HEIGHT', 'cam_overlay', 'colour_mask', 'draw_cam_grid',
    'draw_prediction_grid', 'grey_map'
]
