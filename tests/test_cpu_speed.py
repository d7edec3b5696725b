"""Issue 19: the CPU fast paths give the same numbers as before, and ``arstudio bench cpu``
runs (tiny sizes) with references that are real autoregressive models."""
import pytest
import torch

from arstudio.bench import cpu as bench
from arstudio.models._vector import categorical_head, encode
from arstudio.models.registry import build_model
from arstudio.nn.nade_hidden import nade_logits
from arstudio.spec import DataSpec


@pytest.mark.parametrize("levels", [2, 3])
def test_nade_chunked_running_sum_equals_the_vectorised_pass(levels, gen):
    """Log-likelihoods within 1e-5 and the same gradients, for blocks that do and do not divide D."""
    torch.manual_seed(0)
    spec = DataSpec((1, 5, 7), levels)
    model = build_model("nade", spec, hidden=24)
    x = torch.randint(0, levels, (6, *spec.shape), generator=gen)
    u = encode(x, spec)

    def run(chunk):
        model.zero_grad()
        logits = nade_logits(model.hidden, u, model.V, model.b, chunk)
        lp = categorical_head(logits, spec).log_prob(x).flatten(1).sum(1)  # the model's own head
        lp.sum().backward()
        return lp.detach(), [p.grad.clone() for p in (model.hidden.W, model.hidden.c, model.V, model.b)]

    before, g0 = run(0)  # the one-pass vectorised form (the path before this change)
    for chunk in (1, 4, 16, 35, 100):
        lp, g = run(chunk)
        torch.testing.assert_close(lp, before, atol=1e-5, rtol=0)
        for a, b in zip(g, g0):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # the model's own log_prob (on this CPU: the chunked path) agrees too
    torch.testing.assert_close(model.log_prob(x).detach(), before, atol=1e-5, rtol=0)


def test_bench_cpu_quick_prints_every_table(capsys):
    assert bench.main(["--quick", "--models", "pixelcnn,made,nade,pixelcnn++"]) == 0
    out = capsys.readouterr().out
    for name in ("pixelcnn", "made", "nade", "pixelcnn++"):
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    train = [line.split() for line in out.splitlines() if line.startswith(("pixelcnn ", "made ", "nade "))]
    assert len(train) == 6  # three timed rows, three memory rows
    for cols in train[:3]:
        assert float(cols[3]) > 0 and float(cols[4]) > 0 and cols[5].endswith("×")


@pytest.mark.parametrize("make", [
    lambda: bench.RefPixelCNN(8, 2, 8), lambda: bench.RefGatedPixelCNN(8, 2, 5, 8, 8),
    lambda: bench.RefPixelSNAIL(8, 1, 1, 3, 8, 8, 2, 8, 5, 5), lambda: bench.RefMADE(25, (32,)),
])
def test_references_are_autoregressive(make):
    """Changing pixel j never changes a reference's logit at a pixel <= j (raster order)."""
    torch.manual_seed(0)
    ref = make().eval()
    x = torch.randint(0, 2, (1, 1, 5, 5)).float()
    base = ref.logits(x).flatten()
    for j in range(25):
        y = x.clone().view(-1)
        y[j] = 1 - y[j]
        moved = (ref.logits(y.view(1, 1, 5, 5)).flatten() - base).abs() > 1e-6
        assert not moved[: j + 1].any(), f"pixel {j} reaches an earlier or its own logit"
    # and the samplers draw binary images of the right shape
    assert set(ref.sample(2, (1, 5, 5), torch.Generator().manual_seed(0)).unique().tolist()) <= {0.0, 1.0}


def test_reference_nade_loop_matches_its_definition():
    ref = bench.RefNADE(6, 5)
    x = torch.randint(0, 2, (3, 6)).float()
    logits = ref._loop(x)[0]
    for i in range(6):
        h = torch.sigmoid(ref.c + x[:, :i] @ ref.W[:, :i].t())
        torch.testing.assert_close(logits[:, i], h @ ref.V[i] + ref.b[i])


@pytest.mark.parametrize("levels,masks,ensemble", [(2, 1, 1), (2, 3, 1), (2, 3, 3), (3, 2, 1)])
def test_made_log_likelihoods_equal_the_two_way_softmax_path(levels, masks, ensemble, gen):
    """The one-logit binary path gives the same terms as the K-way softmax path before it."""
    from arstudio.distributions import Categorical
    torch.manual_seed(0)
    spec = DataSpec((1, 4, 6), levels)
    model = build_model("made", spec, hidden=(48, 32), masks=masks, ensemble=ensemble,
                        order_agnostic=masks > 1)
    x = torch.randint(0, levels, (9, *spec.shape), generator=gen)
    for m in range(masks):
        before = Categorical(model._level_log_probs(x, m)).log_prob(x.reshape(9, -1)).sum(1)
        torch.testing.assert_close(model.log_prob_mask(x, m), before, atol=1e-5, rtol=0)
    members = model._members()
    lps = torch.stack([model._level_log_probs(x, m) for m in members])
    if len(members) == 1:
        want = Categorical(lps[0].view(9, *spec.shape, -1)).log_prob(x)
        torch.testing.assert_close(model.log_prob(x, reduce=False), want, atol=1e-5, rtol=0)
    torch.testing.assert_close(model.log_prob(x), model.conditionals(x).log_prob(x).flatten(1).sum(1),
                               atol=1e-5, rtol=0)


def test_made_cached_sampler_equals_naive_for_every_mask_and_ordering():
    torch.manual_seed(0)
    spec = DataSpec((1, 4, 5), 2)
    model = build_model("made", spec, hidden=(40, 24), masks=3, order_agnostic=True).eval()
    known = torch.randint(0, 2, spec.shape)
    mask = torch.rand(spec.shape, generator=torch.Generator().manual_seed(2)) < 0.3
    for m in range(3):
        model.use_mask(m)
        for kw in ({}, {"known": known, "mask": mask}):
            a = model.sample(7, generator=torch.Generator().manual_seed(m), naive=True, **kw)
            b = model.sample(7, generator=torch.Generator().manual_seed(m), **kw)
            assert torch.equal(a, b)
    assert type(model.make_stepper(torch.zeros(1, *spec.shape))).__name__ == "MADEStepper"


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_nade_fast_sampler_equals_the_stepwise_path(temperature):
    """Same samples for the same seed: whole images, shared masks and per-sample masks."""
    torch.manual_seed(0)
    spec = DataSpec((1, 5, 5), 2)
    model = build_model("nade", spec, hidden=20)
    known = torch.randint(0, 2, spec.shape)
    shared = torch.rand(spec.shape, generator=torch.Generator().manual_seed(1)) < 0.4
    each = torch.rand(6, *spec.shape, generator=torch.Generator().manual_seed(2)) < 0.4
    for kw in ({}, {"known": known, "mask": shared}, {"known": known, "mask": each}):
        fast = model.sample(6, temperature=temperature, generator=torch.Generator().manual_seed(3), **kw)
        steps = list(model.sample_steps(6, temperature=temperature, generator=torch.Generator().manual_seed(3), **kw))
        assert torch.equal(fast, steps[-1].x)
        assert fast.dtype == steps[-1].x.dtype


def test_masked_linear_float_mask_follows_the_masks():
    from arstudio.nn import MaskedLinear
    layer = MaskedLinear(3, 2)
    x = torch.ones(1, 3)
    assert torch.equal(layer.float_mask(), torch.ones(2, 3))
    layer.set_mask(0, torch.tensor([[1, 0, 0], [1, 1, 0]]))
    assert torch.equal(layer.float_mask(), torch.tensor([[1.0, 0, 0], [1, 1, 0]]))
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    assert layer(x).tolist() == [[1.0, 2.0]]
    layer.load_state_dict({**layer.state_dict(), "masks": torch.ones(1, 2, 3, dtype=torch.bool)})
    assert layer(x).tolist() == [[3.0, 3.0]]
