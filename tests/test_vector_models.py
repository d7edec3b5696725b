"""Model-specific behaviour of the fully-visible vector models (issue 3).

The shared contract tests already check the AR property, normalisation and
sampling of every registered model; these check what is particular to each.
"""
import itertools
import math

import pytest
import torch

from arstudio.data import load_dataset
from arstudio.models.registry import build_model
from arstudio.spec import DataSpec

BIN4 = DataSpec((4,), 2, "vector")


def all_binary(d):
    return torch.tensor(list(itertools.product([0, 1], repeat=d)), dtype=torch.long)


# --- NADE ------------------------------------------------------------------------
@pytest.mark.parametrize("levels", [2, 3])
def test_nade_running_sum_equals_naive_loop(levels, gen):
    torch.manual_seed(0)
    spec = DataSpec((1, 3, 4), levels)
    model = build_model("nade", spec, hidden=8)
    x = torch.randint(0, levels, (5, *spec.shape), generator=gen)
    fast = model.conditionals(x).logits
    slow = model.conditionals_loop(x).logits
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    # and both equal the definition h_i = sigmoid(c + sum_{j<i} W[:, j] u_j), one i at a time
    from arstudio.models._vector import encode
    u = encode(x, spec)  # (B, D, F)
    W, c = model.hidden.W, model.hidden.c
    for i in range(spec.num_dims):
        a = c + torch.einsum("bjf,hjf->bh", u[:, :i], W[:, :i])
        logit = torch.sigmoid(a) @ model.V[i] + model.b[i]  # (B, O)
        got = fast.reshape(5, spec.num_dims, levels)[:, i]
        want = torch.stack([torch.zeros_like(logit[:, 0]), logit[:, 0]], -1) if levels == 2 else logit
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_nade_stepper_keeps_running_sum_through_skipped_dims(gen):
    """Completion skips known dims: the stepper must still add them to the sum."""
    torch.manual_seed(1)
    spec = DataSpec((10,), 2, "vector")
    model = build_model("nade", spec, hidden=12).eval()
    known = torch.randint(0, 2, (10,), generator=gen)
    mask = torch.tensor([1, 1, 1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.bool)
    a = model.sample(6, known, mask, generator=torch.Generator().manual_seed(3))
    b = model.sample(6, known, mask, generator=torch.Generator().manual_seed(3), naive=True)
    assert torch.equal(a, b) and torch.equal(a[:, mask], known[mask].expand(6, -1))


# --- MADE --------------------------------------------------------------------------
def test_made_ensemble_averages_probabilities_not_logits(gen):
    torch.manual_seed(0)
    model = build_model("made", BIN4, hidden=(16, 16), masks=4, ensemble=4).eval()
    x = all_binary(4)
    with torch.no_grad():
        per_mask = torch.stack([model.log_prob_mask(x, m) for m in range(4)])  # (4, 16)
        ens = model.log_prob(x)
        # the masks really differ, or the test would prove nothing
        assert (per_mask.max(0).values - per_mask.min(0).values).max() > 1e-3
        torch.testing.assert_close(ens, torch.logsumexp(per_mask, 0) - math.log(4))
        torch.testing.assert_close(model.log_prob_ensemble(x), ens)
        # averaging logits instead gives a different (and wrong) answer
        logit_avg = torch.stack([model._level_log_probs(x, m) for m in range(4)]).mean(0)
        wrong = torch.log_softmax(logit_avg, -1).gather(-1, x.unsqueeze(-1)).squeeze(-1).sum(1)
        assert (wrong - ens).abs().max() > 1e-4
        assert abs(torch.logsumexp(ens, 0).exp().item() - 1) < 1e-5


def test_made_order_agnostic_samples_in_any_given_order(gen):
    torch.manual_seed(0)
    spec = DataSpec((5,), 2, "vector")
    model = build_model("made", spec, hidden=(16, 16), masks=3, order_agnostic=True).eval()
    assert not torch.equal(model.orders[1], model.orders[0])
    model.use_mask(1)
    assert torch.equal(model.order, model.orders[1].cpu())
    order = [3, 0, 4, 2, 1]
    model.set_order(order)
    x = torch.randint(0, 2, (3, 5), generator=gen)
    base = model.log_prob(x, reduce=False)
    for pos, j in enumerate(order):  # changing x_j never moves a term earlier in `order`
        x2 = x.clone()
        x2[:, j] ^= 1
        torch.testing.assert_close(model.log_prob(x2, reduce=False)[:, order[:pos]], base[:, order[:pos]])
    with torch.no_grad():
        assert abs(torch.logsumexp(model.log_prob(all_binary(5)), 0).exp().item() - 1) < 1e-5
    steps = [s.index for s in model.sample_steps(2, generator=gen)]
    assert steps == order


def test_made_fresh_orders_trains_each_step_in_a_new_ordering_and_keeps_its_own(gen):
    spec = DataSpec((5,), 2, "vector")
    model = build_model("made", spec, hidden=(16,), masks=2, order_agnostic=True, fresh_orders=True)
    assert model.order_agnostic
    x = torch.randint(0, 2, (4, 5), generator=gen)
    orders = model.orders.clone()
    masks = [layer.masks.clone() for layer in model.layers]
    model.train()
    torch.manual_seed(3)
    loss = model.loss(x)
    torch.manual_seed(3)  # the same draws: the mask, then the ordering
    m, order = int(torch.randint(2, ())), torch.randperm(5)
    twin = build_model("made", spec, hidden=(16,), masks=2, order_agnostic=True)
    twin.load_state_dict(model.state_dict())
    twin.use_mask(m)
    twin.set_order(order)
    torch.testing.assert_close(loss, -twin.log_prob_mask(x, m).mean())
    # the step's ordering is undone: the model's own orderings and masks are as they were
    assert torch.equal(model.orders, orders) and model.active == 0
    assert all(torch.equal(layer.masks, k) for layer, k in zip(model.layers, masks))


def test_made_counts_only_unmasked_weights():
    model = build_model("made", DataSpec((1, 8, 8), 2), hidden=(100,))
    raw = sum(p.numel() for p in model.parameters())
    assert model.num_parameters() < raw
    first = model.layers[0]
    assert model.num_parameters() >= int(first.masks[0].sum())


# --- DeepNADE -------------------------------------------------------------------------
def test_deepnade_conditionals_match_enumeration(gen):
    """p(x_i | x_S) from one pass equals the marginal of the joint of any ordering that
    lists S then i, computed by brute-force enumeration over all configurations."""
    torch.manual_seed(0)
    spec = DataSpec((5,), 2, "vector")
    model = build_model("deepnade", spec, hidden=(32, 32)).eval()
    allx = all_binary(5)
    observed = torch.tensor([1, 0, 1, 0, 0], dtype=torch.bool)  # S = {0, 2}
    x_obs = torch.tensor([1, 0, 0, 0, 0])
    for i, rest in [(1, [3, 4]), (3, [4, 1]), (4, [1, 3])]:
        order = [0, 2, i, *rest]
        with torch.no_grad():
            joint = model.log_prob_in_order(allx, order).exp()  # (32,)
            assert abs(joint.sum().item() - 1) < 1e-5
            agree = (allx[:, observed] == x_obs[observed]).all(1)
            p1 = joint[agree & (allx[:, i] == 1)].sum() / joint[agree].sum()
            got = model.conditionals_given(x_obs.unsqueeze(0), observed).probs()[0, i, 1]
        torch.testing.assert_close(got, p1.float(), atol=1e-5, rtol=1e-5)


def test_deepnade_orderings_differ_but_each_normalises():
    torch.manual_seed(0)
    model = build_model("deepnade", BIN4, hidden=(16,)).eval()
    allx = all_binary(4)
    with torch.no_grad():
        a = model.log_prob_in_order(allx, [0, 1, 2, 3])
        b = model.log_prob_in_order(allx, [3, 1, 0, 2])
        ens = model.log_prob_ensemble(allx, orderings=4)
    for lp in (a, b, ens):
        assert abs(torch.logsumexp(lp.double(), 0).exp().item() - 1) < 1e-5
    assert (a - b).abs().max() > 1e-4  # an untrained net is not order-consistent


def test_deepnade_completes_any_mask_and_trains(gen):
    torch.manual_seed(0)
    spec = DataSpec((1, 3, 3), 2)
    model = build_model("deepnade", spec, hidden=(16,))
    known = torch.randint(0, 2, spec.shape, generator=gen)
    mask = torch.zeros(spec.shape, dtype=torch.bool)
    mask[0, 2, :] = True  # the bottom row is painted: it comes AFTER the gaps in raster order
    out = model.complete(known, mask, n=5, generator=gen)
    assert out.shape == (5, *spec.shape) and torch.equal(out[:, mask], known[mask].expand(5, -1))
    model.train()
    loss = model.loss(torch.randint(0, 2, (8, *spec.shape), generator=gen))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()


# --- RNADE ---------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [1, 2])
def test_rnade_integrates_to_one(dims):
    torch.manual_seed(0)
    model = build_model("rnade", DataSpec((dims,), None, "vector"), hidden=8, mixtures=3).eval()
    K = 3
    with torch.no_grad():  # make the mixing weights and means depend on x_<i in earnest
        model.V[..., :2 * K].mul_(10.0)
    n = 2001 if dims == 1 else 401
    grid = torch.linspace(-12, 12, n)
    step = (grid[1] - grid[0]).item()
    pts = torch.cartesian_prod(*[grid] * dims).view(-1, dims)
    with torch.no_grad():
        dens = model.log_prob(pts).exp().double().view(*[n] * dims)
    total = dens
    for _ in range(dims):
        total = torch.trapezoid(total, dx=step, dim=0)
    assert abs(total.item() - 1) < 2e-3, total.item()


def test_rnade_beats_a_gaussian_on_a_bimodal_toy(gen):
    torch.manual_seed(0)
    data = load_dataset("moons").train[:1000]
    model = build_model("rnade", DataSpec((2,), None, "vector"), hidden=32, mixtures=5)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(60):
        opt.zero_grad()
        model.loss(data).backward()
        opt.step()
    cov = torch.cov(data.t())
    gauss = torch.distributions.MultivariateNormal(data.mean(0), cov).log_prob(data).mean()
    assert -model.loss(data).item() > gauss.item() + 0.2


# --- MASDE ---------------------------------------------------------------------------
def test_masde_has_fewer_parameters_than_made_of_equal_width():
    spec = DataSpec((1, 8, 8), 2)
    masde = build_model("masde", spec, hidden=(200, 200), radius=2)
    made = build_model("made", spec, hidden=(200, 200))
    assert masde.num_parameters() < 0.5 * made.num_parameters()


def test_masde_terms_depend_only_on_parent_sets(gen):
    torch.manual_seed(0)
    spec = DataSpec((1, 4, 4), 2)
    model = build_model("masde", spec, hidden=(64, 64), radius=1).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))  # the direct path starts at zero
    x = torch.randint(0, 2, (4, *spec.shape), generator=gen)
    base = model.log_prob(x, reduce=False).flatten(1)
    parents = model.parents
    for j in range(16):
        x2 = x.clone().view(4, -1)
        x2[:, j] ^= 1
        changed = (model.log_prob(x2.view_as(x), reduce=False).flatten(1) - base).abs().amax(0) > 1e-6
        assert torch.equal(changed[:j], torch.zeros(j, dtype=torch.bool))  # AR property
        assert not (changed & ~parents[:, j])[j + 1:].any()  # only children of j move
        assert changed[j] or not parents[:, j].any()  # j's own term moves (sanity)
    # pixel (1, 1) has parents (0,0),(0,1),(0,2),(1,0): the window above/left, radius 1
    assert parents[5].nonzero().flatten().tolist() == [0, 1, 2, 4]


# --- finite-memory MLP -----------------------------------------------------------------
def test_mlp_arm_sees_exactly_the_last_k(gen):
    torch.manual_seed(0)
    spec = DataSpec((12,), 3, "sequence")
    model = build_model("mlp-arm", spec, memory=3, hidden=16).eval()
    x = torch.randint(0, 3, (4, 12), generator=gen)
    base = model.log_prob(x, reduce=False)
    for j in range(12):
        x2 = x.clone()
        x2[:, j] = (x2[:, j] + 1) % 3
        changed = (model.log_prob(x2, reduce=False) - base).abs().amax(0) > 1e-6
        expected = torch.zeros(12, dtype=torch.bool)
        expected[j + 1:j + 4] = True
        expected[j] = True  # its own term
        assert torch.equal(changed, expected), (j, changed)


# --- real-valued data -------------------------------------------------------------------
def test_wine_is_standardised_with_train_statistics():
    d = load_dataset("wine")
    assert d.spec == DataSpec((13,), None, "vector") and d.license
    assert tuple(map(len, (d.train, d.val, d.test))) == (118, 30, 30)
    torch.testing.assert_close(d.train.mean(0), torch.zeros(13), atol=1e-4, rtol=0)
    torch.testing.assert_close(d.train.std(0, unbiased=False), torch.ones(13), atol=1e-4, rtol=0)
    assert d.test.mean(0).abs().max() > 1e-3  # the test split did not set the statistics


@pytest.mark.parametrize("name", ["moons", "rings", "checkerboard"])
def test_toy_sets_are_deterministic_2d(name):
    d = load_dataset(name)
    assert d.spec.shape == (2,) and d.spec.levels is None and d.train.dtype == torch.float32
    assert tuple(map(len, (d.train, d.val, d.test))) == (5000, 1000, 1000)
    from arstudio.data import real_valued
    again = real_valued._toy(name, getattr(real_valued, f"{name}_points"), {"moons": 0, "rings": 1,
                                                                            "checkerboard": 2}[name])
    assert torch.equal(again.test, d.test)


def test_hidden_widths_from_the_cli_round_trip_through_a_checkpoint(tmp_path, gen):
    from arstudio.checkpoint import load_checkpoint, save_checkpoint

    spec = DataSpec((6,), 2, "vector")
    for name in ("made", "deepnade", "masde"):
        model = build_model(name, spec, hidden="12,8").eval()  # as `--set hidden=12,8` gives it
        assert [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)][:2] == [12, 8]
        x = torch.randint(0, 2, (3, 6), generator=gen)
        loaded = load_checkpoint(save_checkpoint(model, tmp_path / f"{name}.safetensors"))
        torch.testing.assert_close(loaded.log_prob(x), model.log_prob(x), atol=0, rtol=0)


@pytest.mark.parametrize("name,config", [("deepnade", {"hidden": (16,)}),
                                         ("made", {"hidden": (16,), "masks": 2, "order_agnostic": True})])
def test_any_order_completion_through_the_shared_sampler(name, config, gen):
    from arstudio.sampling.completion import any_order_support, complete

    torch.manual_seed(0)
    spec = DataSpec((1, 3, 3), 2)
    model = build_model(name, spec, **config).eval()
    assert any_order_support(model) is not None
    known = torch.randint(0, 2, spec.shape, generator=gen)
    mask = torch.zeros(spec.shape, dtype=torch.bool)
    mask[0, 2] = True  # bottom row painted, the rest unknown
    order_before = model.order.clone()
    out = complete(model, known, mask, n=4, method="any-order", generator=gen).samples
    assert torch.equal(out[:, mask], known[mask].expand(4, -1))
    assert torch.equal(model.order, order_before)  # the ordering is restored afterwards
