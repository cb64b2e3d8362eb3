# Copyright (c) mmseg-wsss contributors. All rights reserved.
"""Under bf16 autocast the network runs in bfloat16, but the normalisation
of CAMs and features, the prototypes and the MAM targets stay float32."""
import torch

from mmseg_wsss.models.utils import l2_normalize, normalize_cams


def _bf16_maps(*shape):
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(*shape, generator=gen) * 4).bfloat16()


def test_normalize_cams_in_float32_under_autocast():
    cams = _bf16_maps(2, 3, 16, 16)
    labels = torch.tensor([[1., 0., 1.], [1., 1., 1.]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = normalize_cams(cams, labels)
    assert out.dtype == torch.float32
    assert torch.equal(out, normalize_cams(cams.float(), labels))
    # what the upcast avoids: in bfloat16 the maps move by up to 2^-9
    peak = cams.relu().flatten(2).amax(2)[:, :, None, None]
    in_bf16 = (cams.relu() / (peak + 1e-5)) * labels[:, :, None, None]
    assert (in_bf16.float() - out).abs().max() > 1e-3


def test_l2_normalize_in_float32_under_autocast():
    feats = _bf16_maps(2, 64, 8, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = l2_normalize(feats)
    assert out.dtype == torch.float32
    assert torch.equal(out, l2_normalize(feats.float()))
    norms = out.norm(dim=1)
    torch.testing.assert_close(
        norms, torch.ones_like(norms), rtol=0, atol=1e-6)


def test_self_supervision_in_float32_under_autocast(tiny_model, tiny_batch):
    model = tiny_model().train()
    inputs, samples = tiny_batch([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        state = model.self_sup_state(inputs, samples)
        losses = model.loss(inputs, samples)
    # the network itself ran in bfloat16 ...
    assert state['cams'].dtype == torch.bfloat16
    # ... what the heads compute from it did not
    rcm, mam = state['rcm'], state['mam']
    for name, tensor in [('feats', state['feats']), ('rcm.protos', rcm.protos),
                         ('rcm.image_protos', rcm.image_protos),
                         *[(f'support.cams[{i}]', cams)
                           for i, cams in enumerate(state['support'].cams)],
                         *[(f'mam.targets[{i}]', target)
                           for i, target in enumerate(mam.targets)]]:
        assert tensor.dtype == torch.float32, name
    for name, loss in losses.items():
        assert loss.dtype == torch.float32 and torch.isfinite(loss), name
    memory = model.rcm_head.memory
    assert memory.bank.dtype == torch.float32 and memory.filled.any()
    assert {p.dtype for p in model.support.parameters()} == {torch.float32}
