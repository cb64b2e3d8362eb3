# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Small data roots over the session's toy set, for tests on few images."""
import os
import os.path as osp
from typing import Dict, List


def toy_names(toy_voc: str, split: str, num: int) -> List[str]:
    """The first ``num`` image names of a split of the toy set."""
    with open(osp.join(toy_voc, 'ImageSets', 'Segmentation',
                       f'{split}.txt')) as f:
        return f.read().split()[:num]


def link_toy_subset(toy_voc: str, root, splits: Dict[str, List[str]]) -> str:
    """A data root at ``root`` that links the toy set's images, masks and
    labels and has its own split files (split name -> image names)."""
    for entry in ('JPEGImages', 'SegmentationClass', 'cls_labels.npy'):
        os.symlink(osp.join(toy_voc, entry), osp.join(root, entry))
    split_dir = osp.join(root, 'ImageSets', 'Segmentation')
    os.makedirs(split_dir)
    for split, names in splits.items():
        with open(osp.join(split_dir, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return str(root)
