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


# Models whose sampler is the naive one, and why: for these "cached == naive" would
# compare the naive path with itself, so the cached test skips them by name.
WITHOUT_STEPPER = {
    "fvsbn": "one masked linear layer: a full pass is already one matrix product",
    "made": "its tiny preset averages 3 masks, whose posterior weights need every member "
            "(the naive path); one mask has a cached stepper (tests/test_vector_models.py)",
    "masde": "a masked MLP: one pass gives every conditional",
}


def _stepper(info, spec):
    from arstudio.models.steppers import NaiveStepper

    model = tiny(info, spec)
    return model, model.make_stepper(stepper_input(spec)), NaiveStepper


def stepper_input(spec):
    return torch.zeros(3, *spec.shape, dtype=torch.long if spec.discrete else torch.float32)


def test_models_without_a_stepper_are_listed():
    """A model whose tiny build samples through the naive path must be named above."""
    naive = set()
    for info, spec in CASES:
        _, stepper, NaiveStepper = _stepper(info, spec)
        if isinstance(stepper, NaiveStepper):
            naive.add(info.name)
    assert naive == set(WITHOUT_STEPPER)


@pytest.mark.parametrize("info,spec", CASES, ids=IDS)
def test_fast_sampler_matches_naive(info, spec):
    """Cached generation gives exactly the naive path's samples for the same seed, both
    plain and under completion (known entries skipped, so the stepper must catch up)."""
    if info.name in WITHOUT_STEPPER:
        pytest.skip(f"{info.name} has no cached stepper: {WITHOUT_STEPPER[info.name]}")
    model, stepper, NaiveStepper = _stepper(info, spec)
    assert not isinstance(stepper, NaiveStepper), f"{info.name}: make_stepper gives the naive path"
    assert isinstance(model.naive_stepper(stepper_input(spec)), NaiveStepper)
    a = model.sample(3, generator=torch.Generator().manual_seed(5), naive=True)
    b = model.sample(3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    known = random_data(spec, 1, torch.Generator().manual_seed(6))[0]
    mask = torch.zeros(spec.num_dims, dtype=torch.bool)
    mask[1::3] = True  # every third entry known (in every sample): skipped by the loop
    mask = mask.view(spec.shape)
    a = model.sample(3, known, mask, generator=torch.Generator().manual_seed(8), naive=True)
    b = model.sample(3, known, mask, generator=torch.Generator().manual_seed(8))
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
    for _ in range(getattr(model, "contract_train_steps", 40)):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    model.eval()
    after = -model.log_prob(x).mean().item()
    assert math.isfinite(after) and after < first - 0.05 * abs(first) - 1e-3, (first, after)


# --- conditioned configurations: the same contract under a condition -------------------------
# Conditioning inputs the core passes by declared capability (``uses_labels``, ``local_map``);
# each configuration is checked on every tiny spec of its modality, with random conditions.
# (name, config, how many of the tiny specs: None = all)
CONDITIONED = [("gated-pixelcnn", {"local_channels": 1}, None),  # a map: where the digit goes
               ("gated-pixelcnn", {"local_channels": 2, "num_labels": 3}, 1)]  # a map and a class
COND_CASES = [(name, cfg, spec) for name, cfg, k in CONDITIONED
              for info in INFOS if info.name == name for spec in specs_for(info)[:k]]
COND_IDS = [f"{n}-{'-'.join(f'{k}{v}' for k, v in c.items())}-{s.describe().replace(' ', '_')}"
            for n, c, s in COND_CASES]


def conditioned(name, cfg, spec, seed=0):
    from arstudio.models.registry import MODELS

    torch.manual_seed(seed)
    return build_model(name, spec, **{**MODELS[name].presets.get("tiny", {}), **cfg}).eval()


def condition(model, n, gen):
    """Random conditioning inputs for n examples, from the model's declared capabilities."""
    kw = {}
    if model.uses_labels:
        kw["label"] = torch.randint(0, model.num_labels, (n,), generator=gen)
    if model.local_map is not None:
        kw["local"] = (torch.rand(n, *model.local_map, generator=gen) < 0.5).float()
    return kw


@pytest.mark.parametrize("name,cfg,spec", COND_CASES, ids=COND_IDS)
def test_conditioned_autoregressive_and_normalised(name, cfg, spec, gen):
    model = conditioned(name, cfg, spec)
    assert model.uses_local and model.local_map == (cfg["local_channels"], *spec.shape[1:])
    x = random_data(spec, 3, gen)
    cond = condition(model, 3, gen)
    with pytest.raises(ValueError):
        model.log_prob(x)  # the condition is required
    base = model.log_prob(x, reduce=False, **cond).flatten(1)
    assert torch.isfinite(base).all()
    other = condition(model, 3, torch.Generator().manual_seed(99))
    assert not torch.allclose(model.log_prob(x, **other), base.sum(1)), "the condition is ignored"
    order = model.order.tolist()
    for pos, j in enumerate(order):
        x2 = x.clone().view(3, -1)
        x2[:, j] = (x2[:, j] + 1) % spec.levels
        terms = model.log_prob(x2.view_as(x), reduce=False, **cond).flatten(1)
        torch.testing.assert_close(terms[:, order[:pos]], base[:, order[:pos]], atol=1e-5, rtol=1e-5)
    allx = all_configurations(spec)
    for k in range(2):  # one condition, broadcast over every configuration
        one = condition(model, 1, torch.Generator().manual_seed(k))
        with torch.no_grad():
            total = torch.logsumexp(model.log_prob(allx, **one).double(), 0).exp().item()
        assert abs(total - 1.0) < 1e-5, f"probabilities sum to {total}"


@pytest.mark.parametrize("name,cfg,spec", COND_CASES, ids=COND_IDS)
def test_conditioned_fast_sampler_matches_naive(name, cfg, spec):
    from arstudio.models.steppers import NaiveStepper

    model = conditioned(name, cfg, spec)
    cond = condition(model, 3, torch.Generator().manual_seed(4))
    assert not isinstance(model.make_stepper(stepper_input(spec), **cond), NaiveStepper)
    a = model.sample(3, generator=torch.Generator().manual_seed(5), naive=True, **cond)
    b = model.sample(3, generator=torch.Generator().manual_seed(5), **cond)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    known = random_data(spec, 1, torch.Generator().manual_seed(6))[0]
    mask = torch.zeros(spec.num_dims, dtype=torch.bool)
    mask[1::3] = True
    mask = mask.view(spec.shape)
    a = model.sample(3, known, mask, generator=torch.Generator().manual_seed(8), naive=True, **cond)
    b = model.sample(3, known, mask, generator=torch.Generator().manual_seed(8), **cond)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name,cfg,spec", COND_CASES, ids=COND_IDS)
def test_conditioned_save_load_and_training(name, cfg, spec, tmp_path, gen):
    model = conditioned(name, cfg, spec)
    x = random_data(spec, 4, gen)
    cond = condition(model, 4, gen)
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "m.safetensors"))
    assert loaded.local_map == model.local_map
    torch.testing.assert_close(loaded.log_prob(x, **cond), model.log_prob(x, **cond), atol=0, rtol=0)
    model.train()
    xs = x.repeat(8, *([1] * len(spec.shape)))
    cs = {k: v.repeat(8, *([1] * (v.dim() - 1))) for k, v in cond.items()}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = model.loss(xs, **cs).item()
    for _ in range(40):
        opt.zero_grad()
        model.loss(xs, **cs).backward()
        opt.step()
    model.eval()
    after = -model.log_prob(xs, **cs).mean().item()
    assert after < first - 0.05 * abs(first) - 1e-3, (first, after)
