# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""The global batch's order and MAM's share of it, by hand."""
import torch

from mmseg_wsss.models.heads.mam_head import mam_share
from mmseg_wsss.models.utils.global_batch import (gather_global_batch,
                                                  global_positions,
                                                  mean_over_ranks)


def test_global_positions_interleave_the_ranks():
    # 2 ranks x 2 images: rank 0 holds images 0 and 2 of the global batch
    assert global_positions([2, 2], 0) == [0, 2]
    assert global_positions([2, 2], 1) == [1, 3]
    # an uneven last batch: rank 1 has no second image
    assert global_positions([2, 1], 0) == [0, 2]
    assert global_positions([2, 1], 1) == [1]
    assert global_positions([3], 0) == [0, 1, 2]


def test_mam_share_is_the_first_fraction_of_the_global_batch():
    # one process: its first half (rounded up)
    assert mam_share([4], 0, 0.5) == [0, 1]
    assert mam_share([3], 0, 0.5) == [0, 1]
    # 2 x 2 images at 0.5: the first image of each rank
    assert mam_share([2, 2], 0, 0.5) == [0]
    assert mam_share([2, 2], 1, 0.5) == [0]
    # 8 x 1 image at 0.5: ranks 0-3 take theirs, ranks 4-7 none
    assert [len(mam_share([1] * 8, r, 0.5))
            for r in range(8)] == [1] * 4 + [0] * 4
    # at least one image of the global batch
    assert mam_share([1, 1], 0, 0.1) == [0] and mam_share([1, 1], 1, 0.1) == []


def test_one_process_is_its_own_global_batch():
    protos, valid = torch.randn(3, 4, 5), torch.rand(3, 4) > 0.5
    (batch_protos, batch_valid), local = gather_global_batch(protos, valid)
    assert torch.equal(batch_protos, protos)
    assert torch.equal(batch_valid, valid)
    assert local.tolist() == [0, 1, 2]
    assert mean_over_ranks(torch.tensor(7)) == 7.0
