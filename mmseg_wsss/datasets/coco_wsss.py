# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""MS COCO 2014 with image-level labels for weakly supervised training."""
import os.path as osp
import re

from mmseg.datasets import COCOStuffDataset
from mmseg.registry import DATASETS

from mmseg_wsss.utils import label_colours
from .weak_seg_dataset import WeakSegDataset

# COCO 2014 file names say their folder: COCO_val2014_000000000042.jpg
# lives in val2014/.
_COCO_NAME = re.compile(r'^COCO_([a-z]+2014)_\d+$')


@DATASETS.register_module()
class WeakCOCODataset(WeakSegDataset):
    """MS COCO 2014 with image-level labels, for WSSS.

    :class:`WeakSegDataset` with the background and COCO's 80 object
    classes in the order of their category ids (mmseg's COCO-Stuff names
    of those classes), in the layout ``tools/dataset_converters/
    coco_wsss.py`` writes next to the downloaded images::

        data_root/
            train2014/COCO_train2014_{id:012d}.jpg
            val2014/COCO_val2014_{id:012d}.jpg
            SegmentationClass/{name}.png     (0 background, 1..80, 255 crowd)
            ImageSets/{train,val}.txt
            cls_labels.npy                   (name -> 80 floats)

    A name's image folder is the one its name says
    (``COCO_val2014_...`` in ``val2014/``, under ``data_prefix['img_path']``),
    so one config reads either split. Images without any object are kept as
    negative examples (``keep_unlabeled=True``), as ReCAM's COCO code does.

    Args:
        ann_file (str): Split file, one image name per line.
        keep_unlabeled (bool): See :class:`WeakSegDataset`. Defaults to
            True.
        data_prefix (dict): Defaults to dict(img_path='',
            seg_map_path='SegmentationClass').
        **kwargs: The other arguments of :class:`WeakSegDataset`.
    """
    METAINFO = dict(
        classes=('background', ) + COCOStuffDataset.METAINFO['classes'][:80],
        palette=[list(c) for c in label_colours(81)])

    def __init__(self,
                 ann_file: str,
                 keep_unlabeled: bool = True,
                 data_prefix: dict = dict(
                     img_path='', seg_map_path='SegmentationClass'),
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            keep_unlabeled=keep_unlabeled,
            data_prefix=data_prefix,
            **kwargs)

    def _img_path(self, name: str) -> str:
        """``img_path/{train2014,val2014}/{name}.jpg``, as the name says."""
        match = _COCO_NAME.match(name)
        if match is None:
            raise ValueError(
                f'{self.ann_file}: {name!r} is not a COCO 2014 image name '
                '(COCO_train2014_<12 digits> or COCO_val2014_<12 digits>)')
        return osp.join(self.data_prefix['img_path'], match.group(1),
                        name + self.img_suffix)
