# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""PASCAL VOC 2012 with pixel masks, for the second stage."""
import os.path as osp
from typing import List

import mmengine.fileio as fileio
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from mmseg_wsss.utils import read_split_names, show_names


@DATASETS.register_module()
class VOCSegDataset(PascalVOCDataset):
    """mmseg's :class:`PascalVOCDataset` that reads split files as the first
    stage's :class:`WeakVOCDataset` does, for the second stage.

    mmseg takes each line of a split file as an image name, so a
    DeepLab/IRN-style ``train_aug.txt`` (``/JPEGImages/x.jpg
    /SegmentationClassAug/x.png``), which the first stage reads, would fail
    in the second; here both stages read the same file
    (:func:`~mmseg_wsss.utils.read_split_names`: the first field without
    folder and suffix, blank lines skipped, duplicates refused). Every
    image's mask must exist (pseudo labels: the whole split exported); a
    missing one is an error at load time that names them, not a failure at
    the first batch that holds one.

    Args:
        **kwargs: The arguments of :class:`PascalVOCDataset`.
    """

    def load_data_list(self) -> List[dict]:
        """The split's image and mask paths, in split order.

        Raises:
            FileNotFoundError: Images or masks of the split are missing.
        """
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix.get('seg_map_path')
        names = read_split_names(self.ann_file, self.img_suffix,
                                 self.backend_args)
        data_list = []
        for name in names:
            info = dict(img_path=osp.join(img_dir, name + self.img_suffix))
            if ann_dir is not None:
                info['seg_map_path'] = osp.join(ann_dir,
                                                name + self.seg_map_suffix)
            info.update(
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[])
            data_list.append(info)
        for key, what in (('img_path', 'images'), ('seg_map_path', 'masks')):
            missing = [
                info[key] for info in data_list if key in info
                and not fileio.exists(info[key], self.backend_args)
            ]
            if missing:
                raise FileNotFoundError(
                    f'{len(missing)} {what} of the split {self.ann_file} are '
                    f'missing: {show_names(missing)}')
        return data_list
