"""Shared contract tests: every registered model, on tiny specs of each
modality it supports. A new model file joins these by registering itself."""
import math

import pytest
import torch
from contract_specs import SAMPLING_SPECS, all_configurations, random_data, specs_for

from arstudio.checkpoint import load_checkpoint, save_checkpoint
from arstudio.models.registry import build_model, list_models

INFOS = [i for i in list_models() if i.cls.autoregressive]  # the VQ-VAE's prior is tested instead
CASES = [(info, spec) for info in INFOS for spec in specs_for(info)]
IDS = [f"{info.name}-{spec.describe().replace(' ', '_')}" for info, spec in CASES]


def tiny(info, spec, seed=0):
    torch.manual_seed(seed)
    return build_model(info.name, spec, **info.presets.get("tiny", {})).eval()


def test_registry_not_empty():
    assert "pixelcnn" in {i.name for i in INFOS}
    for info in INFOS:
        assert info.paper and info.family and info.modalities


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_autoregressive_property(info, spec, gen):
    """Changing x_j never changes the term of a dimension before j in order."""
    model = tiny(info, spec)
    x = random_data(spec, 3, gen)
    base = model.log_prob(x, reduce=False).flatten(1)
    assert base.shape == (3, spec.num_dims)
    assert torch.isfinite(base).all()
    order = model.order.tolist()
    assert sorted(order) == list(range(spec.num_dims))
    for pos, j in enumerate(order):
        x2 = x.clone().view(3, -1)
        if spec.discrete:
            x2[:, j] = (x2[:, j] + 1) % spec.levels
        else:
            x2[:, j] += 1.5
        terms = model.log_prob(x2.view_as(x), reduce=False).flatten(1)
        earlier = order[:pos]
        torch.testing.assert_close(terms[:, earlier], base[:, earlier], atol=1e-5, rtol=1e-5,
                                   msg=f"dimension {j} leaked into earlier terms")


@pytest.mark.parametrize("info,spec", [c for c in CASES if c[1].discrete],
                         ids=[i for c, i in zip(CASES, IDS) if c[1].discrete])
def test_exact_normalisation(info, spec):
    model = tiny(info, spec)
    allx = all_configurations(spec)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(allx).double(), 0).exp().item()
    assert abs(total - 1.0) < 1e-5, f"probabilities sum to {total}"


@pytest.mark.parametrize("info", [i for i in INFOS if i.discrete in (True, None)], ids=lambda i: i.name)
def test_samples_match_probabilities(info):
    modality = [m for m in info.modalities if m in SAMPLING_SPECS][0]
    spec = SAMPLING_SPECS[modality]
    model = tiny(info, spec, seed=3)
    # sharpen the distribution so that a sampler ignoring context would fail
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    allx = all_configurations(spec)
    with torch.no_grad():
        p = model.log_prob(allx).exp()
    n = 20000
    samples = model.sample(n, generator=torch.Generator().manual_seed(7)).view(n, -1)
    codes = (samples * (spec.levels ** torch.arange(spec.num_dims - 1, -1, -1))).sum(1)
    emp = torch.bincount(codes, minlength=len(allx)).double() / n
    tv = 0.5 * (emp - p.double()).abs().sum().item()
    assert tv < 0.03, f"total variation {tv:.3f} between samples and exp(log_prob)"


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_completion_keeps_known_and_steps(info, spec, gen):
    model = tiny(info, spec)
    known = random_data(spec, 1, gen)[0]
    mask = torch.zeros(spec.shape, dtype=torch.bool).view(-1)
    mask[::2] = True
    mask = mask.view(spec.shape)
    out = model.sample(4, known=known, mask=mask, generator=gen)
    assert out.shape == (4, *spec.shape)
    assert torch.equal(out[:, mask], known[mask].expand(4, -1).to(out.dtype))
    steps = list(model.sample_steps(2, generator=gen))
    assert len(steps) == spec.num_dims
    assert steps[-1].step == spec.num_dims - 1


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_fast_sampler_matches_naive(info, spec):
    """Cached generation must give exactly the naive path's samples."""
    model = tiny(info, spec)
    a = model.sample(3, generator=torch.Generator().manual_seed(5), naive=True)
    b = model.sample(3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_save_load_identical(info, spec, tmp_path, gen):
    model = tiny(info, spec)
    x = random_data(spec, 4, gen)
    path = save_checkpoint(model, tmp_path / "m.safetensors", extra={"note": "test"})
    loaded = load_checkpoint(path)
    assert loaded.checkpoint_meta["note"] == "test"
    torch.testing.assert_close(loaded.log_prob(x), model.log_prob(x), atol=0, rtol=0)


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_training_lowers_loss(info, spec, gen):
    model = tiny(info, spec).train()
    x = random_data(spec, 4, gen).repeat(8, *([1] * len(spec.shape)))  # 4 patterns: learnable
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = model.loss(x).item()
    # a model that sees its context only through a summary (DocNADE: the bag of words read so
    # far, no positions) learns these positional patterns slowly; it may ask for more steps
    for _ in range(getattr(model, "contract_train_steps", 25)):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    model.eval()
    after = -model.log_prob(x).mean().item()
    assert math.isfinite(after) and after < first - 0.05 * abs(first) - 1e-3, (first, after)
