"""Model-specific checks for the sequence family (the shared contract tests
cover the protocol): receptive fields by autograd, conditioning, the
WaveNet fast path (log_prob agreement, whole-chunk runs), least-squares AR recovery, top-k, GRU."""
import math

import numpy as np
import pytest
import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.distributions import mu_law_decode
from arstudio.models.registry import build_model
from arstudio.paths import BUNDLED_MODELS
from arstudio.sampling.sequence import generate
from arstudio.spec import DataSpec


def dependence(logits_fn, K, T, t):
    """Input positions the logits at time t depend on (autograd), over a batch of
    random inputs so that no ReLU happens to be off for all of them."""
    torch.manual_seed(0)
    x = torch.randint(0, K, (16, T))
    one_hot = torch.nn.functional.one_hot(x, K).float().transpose(1, 2).requires_grad_(True)
    logits_fn(one_hot)[:, t].pow(2).sum().backward()
    return set(torch.nonzero(one_hot.grad.abs().sum((0, 1))).flatten().tolist())


@pytest.mark.parametrize("kernel,layers,stacks", [(2, 3, 2), (3, 2, 1)])
def test_wavenet_receptive_field_matches_autograd(kernel, layers, stacks):
    torch.manual_seed(1)
    model = build_model("wavenet", DataSpec((64,), 5), kernel=kernel, layers_per_stack=layers,
                        stacks=stacks, residual_channels=8, dilation_channels=8, skip_channels=8)
    R, t = model.receptive_field, 60
    assert R < t
    assert dependence(model.logits, 5, 64, t) == set(range(t - R, t))
    assert dependence(model.logits, 5, 64, 3) == set(range(3))  # clipped at the start


def test_causal_conv_arm_receptive_field_matches_autograd():
    torch.manual_seed(1)
    model = build_model("causal-conv-arm", DataSpec((64,), 4), layers=3, kernel=3,
                        dilation_growth=2, channels=8)
    R = model.receptive_field
    assert R == 3 + 4 + 8  # type A: (3-1)*1 + 1; type B: (3-1)*2, (3-1)*4
    assert dependence(model.logits, 4, 64, 50) == set(range(50 - R, 50))


def conditioned_wavenet(T=200):
    torch.manual_seed(0)
    model = build_model("wavenet", DataSpec((T,), 16), layers_per_stack=4, stacks=2,
                        residual_channels=8, dilation_channels=8, skip_channels=8,
                        num_labels=3, local_channels=2, local_hop=8).eval()
    with torch.no_grad():  # sharpen so that sampling mistakes show
        for p in model.parameters():
            p.mul_(2.0)
    return model


def test_wavenet_conditioning_changes_the_distribution_and_stays_causal(gen):
    model = conditioned_wavenet()
    x = torch.randint(0, 16, (2, 200), generator=gen)
    local = torch.randn(2, 2, 25, generator=gen)
    a = model.log_prob(x, label=torch.tensor([0, 0]), local=local)
    b = model.log_prob(x, label=torch.tensor([1, 1]), local=local)
    c = model.log_prob(x, label=torch.tensor([0, 0]), local=local * 0)
    assert (a - b).abs().min() > 1e-3 and (a - c).abs().min() > 1e-3
    model.log_prob(x)  # no conditioning given: the learned "no label" embedding
    with pytest.raises(ValueError, match="local series covers"):
        model.log_prob(x, local=local[..., :10])
    # the AR property with conditioning: x_t never reaches earlier terms
    terms = model.log_prob(x, reduce=False, label=torch.tensor([2, 1]), local=local)
    x2 = x.clone()
    x2[:, 120] = (x2[:, 120] + 3) % 16
    terms2 = model.log_prob(x2, reduce=False, label=torch.tensor([2, 1]), local=local)
    torch.testing.assert_close(terms[:, :120], terms2[:, :120])


def fast_run(model, n, length, seed, temperature=1.0, **cond):
    return torch.from_numpy(generate(model, length, n, temperature=temperature,
                                     generator=seed, chunk=37, **cond))  # odd chunks: seams inside


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_wavenet_cached_naive_and_whole_chunk_runs_agree_with_conditioning(backend, monkeypatch):
    """The one fast path, both CPU backends: the shared sampler driving the stepper, the
    naive full recompute and the whole-chunk run give the same samples for one seed."""
    from arstudio.models import _wavenet_fast

    if backend == "numba" and _wavenet_fast.numba is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(_wavenet_fast, "backend_name", lambda device: backend)
    model = conditioned_wavenet()
    cond = {"label": torch.tensor([2, 0]), "local": torch.randn(2, 2, 25)}
    seed = lambda: torch.Generator().manual_seed(11)
    naive = model.sample(2, generator=seed(), naive=True, **cond)
    cached = model.sample(2, generator=seed(), **cond)
    fast = fast_run(model, 2, 200, seed(), **cond)
    assert torch.equal(naive, cached) and torch.equal(cached, fast)
    assert naive.unique().numel() > 4  # not a degenerate constant sequence
    hot = model.sample(2, generator=seed(), temperature=0.7, **cond)
    assert torch.equal(hot, fast_run(model, 2, 200, seed(), temperature=0.7, **cond))


@pytest.mark.parametrize("backend", ["numba", "numpy", "torch"])
def test_wavenet_fast_conditionals_agree_with_log_prob(backend):
    """Every conditional of the fast step equals the model's teacher-forced log_prob
    within 1e-5 nats (all 256 levels, with global and local conditioning)."""
    from arstudio.models._wavenet_fast import WaveNetStepper, numba

    if backend == "numba" and numba is None:
        pytest.skip("numba is not installed")
    torch.manual_seed(0)
    model = build_model("wavenet", DataSpec((160,), 256), layers_per_stack=4, stacks=2, kernel=3,
                        residual_channels=12, dilation_channels=12, skip_channels=16,
                        num_labels=3, local_channels=2, local_hop=16).eval()
    x = torch.randint(0, 256, (2, 160), generator=torch.Generator().manual_seed(1))
    cond = {"label": torch.tensor([1, 2]), "local": torch.randn(2, 2, 10)}
    ref = torch.log_softmax(model.conditionals(x, **cond).logits.double(), -1)  # (2, T, K)
    stepper = WaveNetStepper(model, x, backend=backend, **cond)
    with torch.no_grad():
        got = torch.stack([torch.log_softmax(stepper.conditional(t, x).logits.double(), -1)
                           for t in range(160)], 1)
    assert (got - ref).abs().max().item() < 1e-5
    terms = model.log_prob(x, reduce=False, **cond).double()
    assert (got.gather(-1, x.unsqueeze(-1)).squeeze(-1) - terms).abs().max().item() < 1e-5


def test_wavenet_completion_with_cached_stepper_keeps_known_prefix(gen):
    model = conditioned_wavenet()
    known = torch.randint(0, 16, (200,), generator=gen)
    mask = torch.zeros(200, dtype=torch.bool)
    mask[:50] = True
    a = model.sample(2, known=known, mask=mask, generator=torch.Generator().manual_seed(3), naive=True)
    b = model.sample(2, known=known, mask=mask, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.equal(b[:, :50], known[:50].expand(2, -1))


def simulate_ar(coeffs, bias, sigma, n, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, T, dtype=torch.float64)
    noise = torch.randn(n, T, generator=g, dtype=torch.float64) * sigma
    for t in range(T):
        past = sum(a * x[:, t - 1 - i] for i, a in enumerate(coeffs) if t - 1 - i >= 0)
        x[:, t] = past + bias + noise[:, t]
    return x.float()


def test_linear_ar_recovers_known_coefficients():
    true, bias, sigma = [1.6, -0.8], 0.1, 0.05
    data = simulate_ar(true, bias, sigma, n=64, T=300)
    model = build_model("linear-ar", DataSpec((300,), None), order=4).fit(data)
    a = model.coefficients.detach()
    torch.testing.assert_close(a, torch.tensor(true + [0.0, 0.0]), atol=0.02, rtol=0)
    assert abs(model.bias.item() - bias) < 0.01
    assert abs(model.log_std.exp().item() - sigma) / sigma < 0.03
    # the fit is the likelihood optimum: nudging any coefficient lowers it
    best = model.log_prob(data).mean()
    with torch.no_grad():
        model.raw_coefficients[0] += 0.002
    assert model.log_prob(data).mean() < best


@pytest.mark.parametrize("companding", ["none", "mu-law"])
def test_linear_ar_discretised_gaussian_is_normalised(companding, gen):
    model = build_model("linear-ar", DataSpec((50,), 256), order=3, companding=companding)
    with torch.no_grad():
        model.raw_coefficients.copy_(torch.tensor([0.15, -0.05, 0.02]))
        model.raw_log_std.fill_(-0.3)
    x = torch.randint(0, 256, (3, 50), generator=gen)
    logits = model.conditionals(x).logits  # (3, 50, 256): log bin masses before any softmax
    torch.testing.assert_close(logits.logsumexp(-1), torch.zeros(3, 50), atol=1e-4, rtol=0)


def test_linear_ar_on_mu_law_audio_fits_a_sinusoid():
    t = torch.arange(400)
    wave = 0.5 * torch.sin(2 * math.pi * 0.03 * t + torch.linspace(0, 3, 8)[:, None])
    from arstudio.distributions import mu_law_encode

    codes = mu_law_encode(wave)
    model = build_model("linear-ar", DataSpec((400,), 256), order=2, companding="mu-law").fit(codes)
    # a pure sinusoid obeys x_t = 2 cos(w) x_{t-1} - x_{t-2}: the fitted recursion
    # must resonate at w (quantisation noise and the zero-padded start damp it a little)
    a1, a2 = model.coefficients.tolist()
    assert -1.0 <= a2 < -0.85
    resonance = math.acos(a1 / (2 * math.sqrt(-a2))) / (2 * math.pi)
    assert abs(resonance - 0.03) < 0.03 * 0.03, resonance
    assert model.bits_per_dim(codes).mean() < 4.0  # uniform over 256 levels is 8


def test_top_k_restricts_support():
    torch.manual_seed(0)
    spec = DataSpec((6,), 10)
    model = build_model("text-transformer", spec, d_model=16, heads=2, layers=1).eval()
    g = torch.Generator().manual_seed(0)
    samples = model.sample(500, generator=g, top_k=3)
    logits = model.conditionals(samples).logits  # unrestricted, given each sample's prefix
    rank = (logits > logits.gather(-1, samples.unsqueeze(-1))).sum(-1)
    assert rank.max() <= 2, "a sample fell outside the top 3 levels"
    full = model.sample(500, generator=torch.Generator().manual_seed(0))
    rank_full = (logits.new_tensor(0) + (model.conditionals(full).logits >
                                          model.conditionals(full).logits.gather(-1, full.unsqueeze(-1))).sum(-1))
    assert rank_full.max() >= 3  # without top-k the tail is reachable: the test has teeth
    restricted = model.conditionals(samples, top_k=3).probs()
    assert ((restricted > 0).sum(-1) == 3).all()
    a = model.sample(4, generator=torch.Generator().manual_seed(2), top_k=3, naive=True)
    b = model.sample(4, generator=torch.Generator().manual_seed(2), top_k=3)
    assert torch.equal(a, b)


def test_gru_rnn_arm_cached_matches_naive_and_is_causal(gen):
    torch.manual_seed(0)
    model = build_model("rnn-arm", DataSpec((12,), 5), cell="gru", hidden=16, embedding=8).eval()
    a = model.sample(3, generator=torch.Generator().manual_seed(4), naive=True)
    b = model.sample(3, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    x = torch.randint(0, 5, (2, 12), generator=gen)
    x2 = x.clone()
    x2[:, 7] = (x2[:, 7] + 1) % 5
    torch.testing.assert_close(model.log_prob(x, reduce=False)[:, :7],
                               model.log_prob(x2, reduce=False)[:, :7])


BUNDLED = BUNDLED_MODELS / "wavenet-tones.safetensors"


def harmonic_share(wave, rate, pitch, within_hz=12.0):
    """Fraction of the power (above 50 Hz) within ``within_hz`` of a harmonic of ``pitch``."""
    power = np.abs(np.fft.rfft(wave * np.hanning(len(wave)))) ** 2
    freqs = np.fft.rfftfreq(len(wave), 1.0 / rate)
    k = freqs / pitch
    near = (np.abs(k - np.round(k)) * pitch < within_hz) & (np.round(k) >= 1)
    return power[near].sum() / power[freqs > 50].sum(), freqs[power.argmax()]


def test_bundled_wavenet_sings_in_tune():
    """Generated notes have their power on the harmonics of the pitch asked for."""
    assert BUNDLED.is_file(), f"{BUNDLED} is missing: arstudio train --preset wavenet-tones makes it"
    model = load_checkpoint(BUNDLED)
    rate, names = model.checkpoint_meta["sample_rate"], model.checkpoint_meta["label_names"]
    noise = harmonic_share(np.random.default_rng(0).standard_normal(2048), rate, 220.0)[0]
    assert noise < 0.2  # white noise: ~0.13 of its power lies near the harmonics by chance
    for note, pitch in (("A3", 220.0), ("C4", 261.63), ("E4", 329.63)):
        codes = generate(model, 2048, 1, label=torch.tensor([names.index(note)]),
                         generator=torch.Generator().manual_seed(0))
        wave = mu_law_decode(torch.from_numpy(codes[0])).numpy()
        assert np.abs(wave).max() > 0.1, f"{note}: the model generated silence"
        share, peak = harmonic_share(wave, rate, pitch)
        assert abs(peak / pitch - round(peak / pitch)) < 0.06, f"{note}: loudest at {peak:.0f} Hz"
        assert share > 0.5, f"{note}: only {share:.2f} of the power on its harmonics: noise-like"
