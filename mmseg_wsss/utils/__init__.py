# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The bottom layer: file I/O, distributed helpers, checkpoint safety.

It imports nothing else of mmseg-wsss, so every other layer may use it.
"""
from .atomic_io import (TEMP_SUFFIX, AtomicLocalBackend, temp_path,
                        write_file_atomically)
from .checkpoint import (UnsafeCheckpointError, allow_mmengine_checkpoints,
                         load_checkpoint_safely)
from .constants import (IGNORE_COLOUR, IGNORE_INDEX, SPLIT_FILE,
                        VOC_CLASS_COLOURS, VOC_CLASSES)
from .dist import init_cpu_dist, shutdown_distributed
from .image_io import (encode_palette_png, label_colours, read_index_png,
                       read_rgb, voc_palette)
from .splits import image_name, read_split_names, show_names

__all__ = [
    'TEMP_SUFFIX', 'AtomicLocalBackend', 'temp_path', 'write_file_atomically',
    'UnsafeCheckpointError', 'allow_mmengine_checkpoints',
    'load_checkpoint_safely', 'IGNORE_COLOUR', 'IGNORE_INDEX', 'SPLIT_FILE',
    'VOC_CLASS_COLOURS', 'VOC_CLASSES', 'init_cpu_dist',
    'shutdown_distributed', 'encode_palette_png', 'read_index_png', 'read_rgb',
    'voc_palette', 'label_colours', 'image_name', 'read_split_names',
    'show_names'
]
