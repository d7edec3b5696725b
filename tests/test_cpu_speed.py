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
