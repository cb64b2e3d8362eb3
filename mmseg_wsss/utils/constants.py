# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Values shared by the data sets, the exports and the tools."""
from mmseg.datasets import PascalVOCDataset

# Label of pixels that no loss or metric counts (VOC's boundary band).
IGNORE_INDEX = 255
# VOC's colour of the ignored band (entry 255 of its palette).
IGNORE_COLOUR = (224, 224, 192)
# Where a VOC root lists the images of a split.
SPLIT_FILE = 'ImageSets/Segmentation/{split}.txt'
# Background first, then the 20 foreground classes, in mask index order.
VOC_CLASSES = tuple(PascalVOCDataset.METAINFO['classes'])
# RGB colour of each class index, mmseg's VOC palette.
VOC_CLASS_COLOURS = tuple(
    tuple(colour) for colour in PascalVOCDataset.METAINFO['palette'])
