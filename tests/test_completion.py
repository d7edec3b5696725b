"""Completion methods against the exact conditional, by enumeration, on a 3×3 binary model."""
import itertools

import pytest
import torch

import arstudio
from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.sampling import any_order_support, complete, complete_steps
from arstudio.spec import DataSpec

SPEC = DataSpec((1, 3, 3), levels=2)
D = 9
WEIGHTS = 2 ** torch.arange(D - 1, -1, -1)  # raster bit weights: code = sum x_j 2^(8-j)
CONFIGS = torch.tensor(list(itertools.product([0, 1], repeat=D)))  # (512, 9), row c has code c


class TableModel(ARModel):
    """An explicit probability table over all 512 images, with exact conditionals.

    p(x_i | x_<i) and p(x_i | x_S) for any observed set S come from summing
    the table, so it is a tiny stand-in for an order-agnostic model."""

    registry_name = "table"
    supports_any_order = True  # conditionals_given below

    def __init__(self, seed=0, sharpness=2.5):
        super().__init__(SPEC, ARModel.Config())
        g = torch.Generator().manual_seed(seed)
        # strong pairwise couplings so painted pixels really change the answer
        J = torch.randn(D, D, generator=g) * sharpness
        h = torch.randn(D, generator=g)
        s = CONFIGS.float() * 2 - 1
        energy = ((s @ torch.triu(J, 1)) * s).sum(1) + s @ h
        self.log_table = torch.nn.Parameter(torch.log_softmax(energy / 2, 0))  # (512,)

    def codes(self, x):
        return (x.reshape(len(x), D).long() * WEIGHTS.to(x.device)).sum(1)  # (B,)

    def _given(self, x, observed):
        """logits of p(x_i | x_S) for every i: observed (B, D) bool -> (B, D, 2)."""
        obs_bits = (observed.long() * WEIGHTS.to(x.device)).sum(1)  # (B,)
        # rows with the same observed set and values share the answer: work on unique keys
        keys, back = torch.unique(obs_bits * 512 + (self.codes(x) & obs_bits), return_inverse=True)
        bits, vals = keys // 512, keys % 512
        agree = ((vals[:, None] ^ torch.arange(512, device=x.device)[None]) & bits[:, None]) == 0
        table = torch.where(agree, self.log_table[None], torch.tensor(-torch.inf))  # (U, 512)
        ones = CONFIGS.to(x.device).bool().T  # (9, 512)
        lp1 = torch.logsumexp(torch.where(ones[None], table[:, None], torch.tensor(-torch.inf)), -1)
        lp0 = torch.logsumexp(torch.where(~ones[None], table[:, None], torch.tensor(-torch.inf)), -1)
        return torch.stack([lp0, lp1], -1)[back]  # (B, 9, 2)

    def conditionals(self, x, **cond):
        # raster conditionals from prefix marginals: log P(first i+1 bits) over log P(first i bits)
        B, code = len(x), self.codes(x)
        logits = []
        for i in range(D):
            marg = self.log_table.view(2 ** (i + 1), -1).logsumexp(1)  # (2^(i+1),)
            prefix = code >> (D - i)  # (B,) the first i bits
            logits.append(torch.stack([marg[2 * prefix], marg[2 * prefix + 1]], -1))
        return Categorical(torch.stack(logits, 1).view(B, *SPEC.shape, 2))

    def conditionals_given(self, x, observed):
        B = len(x)
        return Categorical(self._given(x, observed.reshape(B, D)).view(B, *SPEC.shape, 2))


class RasterOnlyTable(TableModel):
    """The same table without the any-order protocol (only raster conditionals)."""

    supports_any_order = False


class OrderedTable(TableModel):
    """The table as a model that generates in any chosen order (the ``set_order`` protocol, like MADE)."""

    supports_any_order = False
    order_agnostic = True

    def __init__(self, **kw):
        super().__init__(**kw)
        self.order_ = torch.arange(D)

    @property
    def order(self):
        return self.order_

    def set_order(self, order):
        self.order_ = torch.as_tensor(order)

    def conditionals(self, x, **cond):
        B = len(x)
        rank = torch.empty(D, dtype=torch.long)
        rank[self.order_] = torch.arange(D)
        logits = torch.stack([self._given(x, (rank < rank[i]).expand(B, D))[:, i] for i in range(D)], 1)
        return Categorical(logits.view(B, *SPEC.shape, 2))


def exact_conditional(model, known, mask):
    """p(unknown | painted) over all 512 codes by enumeration: (512,) probabilities."""
    flat_k, flat_m = known.reshape(D), mask.reshape(D)
    ok = (CONFIGS[:, flat_m] == flat_k[flat_m]).all(1)
    logp = torch.where(ok, model.log_table.detach(), torch.tensor(-torch.inf))
    return torch.softmax(logp, 0)


def empirical(samples):
    codes = (samples.reshape(len(samples), D) * WEIGHTS).sum(1)
    return torch.bincount(codes, minlength=512).float() / len(samples)


# painted: the bottom row and the right column's middle, so most painted pixels come late in raster
KNOWN = torch.tensor([[[0, 0, 0], [0, 0, 1], [1, 0, 1]]])
MASK = torch.tensor([[[False, False, False], [False, False, True], [True, True, True]]])


def tv(p, q):
    return 0.5 * float((p - q).abs().sum())


def test_raster_reports_unseen_painted_and_is_biased():
    model = TableModel()
    r = complete(model, KNOWN, MASK, n=4000, method="raster", generator=torch.Generator().manual_seed(0))
    assert r.method == "raster"
    assert torch.equal(r.samples[:, MASK], KNOWN[MASK].expand(4000, -1))
    # the first unknown is pixel 0, so every painted pixel comes after it and is unseen
    assert torch.equal(r.unseen, MASK)
    # painting the top-left only: it precedes every unknown pixel, so nothing is unseen
    top = torch.zeros_like(MASK)
    top[0, 0, 0] = True
    assert not complete(model, KNOWN, top, n=2, method="raster").unseen.any()
    # painted (0,0) and (2,2) with (0,1) unknown: only (2,2) is unseen
    mixed = top.clone()
    mixed[0, 2, 2] = True
    unseen = complete(model, KNOWN, mixed, n=2, method="raster").unseen
    assert unseen.sum() == 1 and unseen[0, 2, 2]
    # raster ignores the late painted pixels: far from the exact conditional for this table
    assert tv(empirical(r.samples), exact_conditional(model, KNOWN, MASK)) > 0.1


def test_resample_matches_exact_conditional():
    model = RasterOnlyTable()
    assert any_order_support(model) is None
    g = torch.Generator().manual_seed(1)
    r = complete(model, KNOWN, MASK, n=20000, method="resample", candidates=40000, generator=g)
    assert r.method == "resample" and not r.unseen.any()
    assert torch.equal(r.samples[:, MASK], KNOWN[MASK].expand(20000, -1))
    assert r.log_weights.shape == (40000,) and 1 < r.effective_samples <= 40000
    assert tv(empirical(r.samples), exact_conditional(model, KNOWN, MASK)) < 0.05


def test_any_order_matches_exact_conditional():
    model = TableModel(seed=3)
    assert any_order_support(model) == "conditionals_given"
    r = complete(model, KNOWN, MASK, n=20000, method="any-order", generator=torch.Generator().manual_seed(2))
    assert r.method == "any-order" and r.extras["via"] == "conditionals_given"
    assert torch.equal(r.samples[:, MASK], KNOWN[MASK].expand(20000, -1))
    assert tv(empirical(r.samples), exact_conditional(model, KNOWN, MASK)) < 0.05


def test_any_order_through_set_order_matches_exact_conditional():
    model = OrderedTable(seed=4)
    assert any_order_support(model) == "set_order"
    r = complete(model, KNOWN, MASK, n=6000, method="any-order", generator=torch.Generator().manual_seed(5))
    assert r.extras["via"] == "set_order" and torch.equal(model.order, torch.arange(D))  # order restored
    assert torch.equal(r.samples[:, MASK], KNOWN[MASK].expand(6000, -1))
    assert tv(empirical(r.samples), exact_conditional(model, KNOWN, MASK)) < 0.05


def test_any_order_refuses_a_raster_only_model():
    with pytest.raises(ValueError, match="resample"):
        complete(RasterOnlyTable(), KNOWN, MASK, n=2, method="any-order")


def test_gibbs_moves_towards_exact_conditional_and_keeps_painted():
    # single-site Gibbs mixes slowly under strong couplings: a milder table, six sweeps
    model = RasterOnlyTable(seed=5, sharpness=1.0)
    exact = exact_conditional(model, KNOWN, MASK)
    g = torch.Generator().manual_seed(4)
    raster = complete(model, KNOWN, MASK, n=4000, method="raster", generator=g)
    gibbs = complete(model, KNOWN, MASK, n=4000, method="gibbs", sweeps=6, generator=g)
    assert torch.equal(gibbs.samples[:, MASK], KNOWN[MASK].expand(4000, -1))
    assert tv(empirical(gibbs.samples), exact) < 0.06
    assert tv(empirical(gibbs.samples), exact) < tv(empirical(raster.samples), exact)


def test_steps_animate_and_end_in_the_result():
    model = TableModel()
    steps = list(complete_steps(model, KNOWN, MASK, n=3, method="any-order"))
    unknown = int((~MASK).sum())
    assert [s.phase for s in steps] == ["any-order"] * unknown + ["done"]
    assert steps[-1].result.samples.shape == (3, 1, 3, 3)
    assert sorted(s.index for s in steps[:-1]) == [i for i in range(D) if not MASK.reshape(-1)[i]]


def test_public_api_and_pixelcnn_completion():
    model = arstudio.build_model("pixelcnn", DataSpec((1, 5, 5), levels=3), channels=8, layers=1)
    known = torch.randint(0, 3, (1, 5, 5))
    mask = torch.zeros(1, 5, 5, dtype=torch.bool)
    mask[0, 3:] = True
    for method in ("raster", "resample", "gibbs"):
        r = arstudio.complete(model, known, mask, n=3, method=method, candidates=12)
        assert r.samples.shape == (3, 1, 5, 5) and r.method == method
        assert torch.equal(r.samples[:, mask], known[mask].expand(3, -1))
    with pytest.raises(ValueError):
        arstudio.complete(model, known, mask, n=2, method="any-order")
