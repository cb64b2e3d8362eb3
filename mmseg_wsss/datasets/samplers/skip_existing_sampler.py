# Copyright (c) mmseg-wsss contributors. All rights reserved.
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Sized

from mmengine.dataset import DefaultSampler
from mmseg.registry import DATA_SAMPLERS

from mmseg_wsss.utils import image_name, show_names


@DATA_SAMPLERS.register_module()
class SkipExistingSampler(DefaultSampler):
    """In-order, unpadded shards of a data set without its finished images.

    Made for resumable exports (``runner.test()`` with a writer metric such
    as :class:`~mmseg_wsss.evaluation.PseudoLabelWriter`): rank ``r`` of
    ``W`` takes the dataset indices ``r, r + W, ...`` (``DefaultSampler``
    with ``shuffle=False, round_up=False``: no image twice, so no two ranks
    write one file), then leaves out the images whose ``outputs`` all
    exist. The shards do not depend on what is on disk, and each rank only
    checks the files of its own shard, which only it writes: the ranks
    agree however far the others have got.

    Args:
        dataset (Sized): A dataset with ``get_data_info(i)['img_path']``;
            image file names must be distinct (outputs are named by them).
        outputs (Sequence[str]): The files an image's export writes, with
            ``{name}`` for its name (file name without extension), e.g.
            ``['out/{name}.png', 'out/cams/{name}.npz']``.
        overwrite (bool): Take every image, finished or not. Defaults to
            False.
        seed (int, optional): Unused (no shuffling); mmengine passes it.
            Defaults to None.
    """

    def __init__(self,
                 dataset: Sized,
                 outputs: Sequence[str],
                 overwrite: bool = False,
                 seed: Optional[int] = None) -> None:
        super().__init__(dataset, shuffle=False, seed=seed, round_up=False)
        if not outputs:
            raise ValueError('SkipExistingSampler needs the output files of '
                             'an image (outputs), got none')
        names = [
            image_name(dataset.get_data_info(idx)['img_path'])
            for idx in range(len(dataset))
        ]
        dups = sorted(n for n, count in Counter(names).items() if count > 1)
        if dups:
            raise ValueError('images must have distinct file names to be '
                             f'written to one folder; repeated: '
                             f'{show_names(dups)}')
        shard = range(self.rank, len(names), self.world_size)
        self.indices: List[int] = [
            idx for idx in shard if overwrite or not all(
                osp.exists(output.format(name=names[idx]))
                for output in outputs)
        ]
        self.num_skipped = len(shard) - len(self.indices)

    def __iter__(self):
        """The indices of this rank's unfinished images, in order."""
        return iter(self.indices)

    def __len__(self) -> int:
        """The number of unfinished images of this rank."""
        return len(self.indices)
