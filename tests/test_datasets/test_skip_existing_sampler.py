# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""SkipExistingSampler: fixed in-order shards without finished images."""
import mmengine.dataset.sampler as mmengine_sampler
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATA_SAMPLERS

from mmseg_wsss.datasets import SkipExistingSampler


class Images:
    """A data set of ``names`` as ``{name}.jpg`` paths."""

    def __init__(self, names):
        self.names = names

    def __len__(self):
        return len(self.names)

    def get_data_info(self, idx):
        return dict(img_path=f'/data/JPEGImages/{self.names[idx]}.jpg')


def _sampler(dataset,
             outputs,
             rank=0,
             world_size=1,
             monkeypatch=None,
             **kwargs):
    if monkeypatch is not None:
        monkeypatch.setattr(mmengine_sampler, 'get_dist_info', lambda:
                            (rank, world_size))
    init_default_scope('mmseg')
    return DATA_SAMPLERS.build(
        dict(type='SkipExistingSampler', outputs=outputs, **kwargs),
        default_args=dict(dataset=dataset, seed=0))


def test_skips_images_whose_outputs_all_exist(tmp_path):
    names = [f'im{i}' for i in range(5)]
    (tmp_path / 'cams').mkdir()
    for name in ('im1', 'im3'):
        (tmp_path / f'{name}.png').touch()
    # im3 lacks its CAMs: not finished
    (tmp_path / 'cams' / 'im1.npz').touch()
    outputs = [
        str(tmp_path / 'cams' / '{name}.npz'),
        str(tmp_path / '{name}.png')
    ]
    sampler = _sampler(Images(names), outputs)
    assert isinstance(sampler, SkipExistingSampler)
    assert list(sampler) == [0, 2, 3, 4]
    assert len(sampler) == 4 and sampler.num_skipped == 1
    assert list(_sampler(Images(names), outputs,
                         overwrite=True)) == [0, 1, 2, 3, 4]


def test_shards_do_not_depend_on_the_files(tmp_path, monkeypatch):
    names = [f'im{i}' for i in range(7)]
    outputs = [str(tmp_path / '{name}.png')]
    before = [
        list(_sampler(Images(names), outputs, r, 3, monkeypatch))
        for r in range(3)
    ]
    # every index once, none padded
    assert before == [[0, 3, 6], [1, 4], [2, 5]]
    # rank 0 finished two images before rank 1 built its sampler
    for name in ('im0', 'im3'):
        (tmp_path / f'{name}.png').touch()
    assert list(_sampler(Images(names), outputs, 1, 3, monkeypatch)) == \
        before[1]
    assert list(_sampler(Images(names), outputs, 0, 3, monkeypatch)) == [6]


def test_arguments_are_checked():
    with pytest.raises(ValueError, match='distinct file names.*im1'):
        _sampler(Images(['im1', 'im2', 'im1']), ['{name}.png'])
    with pytest.raises(ValueError, match='got none'):
        _sampler(Images(['im1']), [])
