"""Model-specific checks of the image models (beyond the shared contract)."""

import pytest
import torch
from contract_specs import all_configurations

from arstudio.inspect import receptive_field
from arstudio.models.pixelrnn_diag import skew, unskew
from arstudio.models.registry import build_model, get_model_info
from arstudio.spec import DataSpec

CACHED = ["pixelcnn", "gated-pixelcnn", "pixelsnail", "image-transformer", "pixelrnn-row", "pixelrnn-diag"]
PIXELRNNS = ["pixelrnn-row", "pixelrnn-diag"]


def tiny(name, spec, seed=0, **over):
    torch.manual_seed(seed)
    cfg = {**get_model_info(name).presets.get("tiny", {}), **over}
    return build_model(name, spec, **cfg).eval()


def before(index, shape):
    """Bool mask of the entries before flat pixel ``index`` in raster order."""
    m = torch.zeros(shape, dtype=torch.bool).view(-1)
    m[:index] = True
    return m.view(shape)


# --- receptive fields by autograd ----------------------------------------------------
def test_pixelcnn_has_blind_spot_gated_has_none():
    spec = DataSpec((1, 7, 7), 2)
    x = torch.randint(0, 2, (1, 7, 7), generator=torch.Generator().manual_seed(0))
    target = 3 * 7 + 3  # pixel (3, 3)
    earlier = before(target, (1, 7, 7))
    cnn = tiny("pixelcnn", spec, layers=3, first_kernel=3)
    gated = tiny("gated-pixelcnn", spec, layers=4, kernel=3)
    rf_cnn = receptive_field(cnn, x, target, binary=True)
    rf_gated = receptive_field(gated, x, target, binary=True)
    # both autoregressive: nothing at or after the target matters
    assert not rf_cnn[~earlier].any() and not rf_gated[~earlier].any()
    # pixelcnn: an earlier pixel above-right of the target is invisible (the blind spot) ...
    above_right = torch.zeros_like(earlier)
    above_right[0, :3, 4:] = True
    blind = above_right & ~rf_cnn
    assert blind.any(), rf_cnn.int()
    # ... although it is well inside the reach of four stacked 3×3 kernels: the pixel
    # one row up and two columns right
    assert bool(blind[0, 2, 5])
    # gated pixelcnn: every earlier pixel is seen
    assert rf_gated[earlier].all(), rf_gated.int()


def test_receptive_field_float_values_and_colour_order():
    spec = DataSpec((3, 3, 3), 4)
    # wide enough that no colour group's units are all switched off by a ReLU
    model = tiny("gated-pixelcnn", spec, layers=2, channels=24, skip_channels=24, head_channels=24)
    x = torch.randint(0, 4, (3, 3, 3), generator=torch.Generator().manual_seed(1))
    pixel = 4  # centre pixel (1, 1)
    for channel in range(3):
        rf = receptive_field(model, x, channel * 9 + pixel)
        assert rf.dtype == torch.float32 and rf.shape == (3, 3, 3)
        at_pixel = rf[:, 1, 1] > 0  # which colours of the same pixel it depends on
        assert at_pixel.tolist() == [c < channel for c in range(3)], (channel, rf[:, 1, 1])


def test_receptive_field_needs_float_input():
    spec = DataSpec((1, 3, 3), 2)
    model = tiny("gated-pixelcnn", spec)
    with pytest.raises(ValueError):
        receptive_field(model, torch.zeros(1, 2, 2, dtype=torch.long), 0)
    assert "_probe" not in vars(model)  # the probe leaves nothing behind on the model


@pytest.mark.parametrize("name", ["pixelrnn-diag", "pixelsnail", "image-transformer", "pixelcnn++"])
def test_full_context_models_see_every_earlier_pixel(name):
    spec = DataSpec((1, 5, 5), 2)
    over = {"layers": 2} if name == "pixelrnn-diag" else {}
    model = tiny(name, spec, **over)
    x = torch.randint(0, 2, (1, 5, 5), generator=torch.Generator().manual_seed(2))
    target = 2 * 5 + 2
    rf = receptive_field(model, x, target, binary=True)
    earlier = before(target, (1, 5, 5))
    assert rf[earlier].all() and not rf[~earlier].any(), rf.int()


def test_row_lstm_context_is_a_triangle():
    spec = DataSpec((1, 6, 7), 2)
    model = tiny("pixelrnn-row", spec, layers=1)
    x = torch.randint(0, 2, (1, 6, 7), generator=torch.Generator().manual_seed(3))
    rf = receptive_field(model, x, 5 * 7 + 3, binary=True)  # pixel (5, 3)
    assert rf[0, 4, 2:5].all()  # the row above, around the pixel
    assert not rf[0, 4, 6] and rf[0, 0, 6]  # the triangle widens going up


# --- cached generation ----------------------------------------------------------------
@pytest.mark.parametrize("name", CACHED)
@pytest.mark.parametrize("shape,levels", [((1, 4, 5), 2), ((3, 3, 2), 3)])
def test_cached_equals_naive_with_completion(name, shape, levels):
    """Known pixels are skipped by the sampler; the caches must catch up on them."""
    spec = DataSpec(shape, levels)
    model = tiny(name, spec)
    g = torch.Generator().manual_seed(4)
    known = torch.randint(0, levels, shape, generator=g)
    mask = torch.rand(shape, generator=g) < 0.4
    mask[:, 1] = True  # a whole known row
    mask[0, 0, 1] = False  # a partly known pixel
    a = model.sample(3, known=known, mask=mask, generator=torch.Generator().manual_seed(5), naive=True)
    b = model.sample(3, known=known, mask=mask, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(b[:, mask], known[mask].expand(3, -1))


@pytest.mark.parametrize("name", CACHED)
@pytest.mark.parametrize("spec", [DataSpec((3, 3, 3), 4), DataSpec((1, 4, 5), 2)], ids=["rgb", "binary"])
def test_cached_conditionals_equal_teacher_forcing(name, spec):
    """Along a sampled trajectory every cached conditional equals the full pass's
    (sharper than comparing samples: small errors rarely flip a draw)."""
    model = tiny(name, spec)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)  # larger activations: errors would show
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(2, *spec.shape, dtype=torch.long)
    stepper = model.make_stepper(x)
    with torch.no_grad():
        for i in model.order.tolist():
            cached, full = stepper.conditional(i, x), model.conditionals(x).at(i)
            torch.testing.assert_close(cached.probs(), full.probs(), atol=1e-5, rtol=1e-4)
            x.view(2, -1)[:, i] = cached.sample(1.0, g)


@pytest.mark.parametrize("name", ["pixelcnn", "gated-pixelcnn", "pixelsnail", *PIXELRNNS])
def test_dmol_output_is_normalised_and_cached(name):
    spec = DataSpec((3, 1, 1), 4)
    model = tiny(name, spec, output="dmol", mixtures=2)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(all_configurations(spec)).double(), 0).exp()
    assert abs(total.item() - 1) < 1e-5
    a = model.sample(4, generator=torch.Generator().manual_seed(1), naive=True)
    assert torch.equal(a, model.sample(4, generator=torch.Generator().manual_seed(1)))


# --- conditional Gated PixelCNN ---------------------------------------------------------------
def test_gated_pixelcnn_class_conditioning():
    spec = DataSpec((1, 3, 3), 2)
    model = tiny("gated-pixelcnn", spec, num_labels=3)
    x = torch.randint(0, 2, (2, 1, 3, 3), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError):
        model.log_prob(x)
    lp0 = model.log_prob(x, label=torch.tensor([0, 0]))
    lp1 = model.log_prob(x, label=1)  # a plain int is broadcast
    assert not torch.allclose(lp0, lp1)
    with torch.no_grad():  # each class is its own normalised distribution
        for y in range(3):
            total = torch.logsumexp(model.log_prob(all_configurations(spec), label=y).double(), 0)
            assert abs(total.exp().item() - 1) < 1e-5
    labels = torch.tensor([0, 1, 2])
    a = model.sample(3, generator=torch.Generator().manual_seed(2), naive=True, label=labels)
    b = model.sample(3, generator=torch.Generator().manual_seed(2), label=labels)
    assert torch.equal(a, b)


def test_gated_pixelcnn_learns_the_class():
    """Two classes with opposite images: conditioning must separate them."""
    spec = DataSpec((1, 3, 3), 2)
    model = tiny("gated-pixelcnn", spec, num_labels=2).train()
    x = torch.stack([torch.zeros(1, 3, 3), torch.ones(1, 3, 3)]).long().repeat(8, 1, 1, 1)
    y = torch.tensor([0, 1]).repeat(8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        model.loss(x, label=y).backward()
        opt.step()
    s = model.sample(20, generator=torch.Generator().manual_seed(0), label=torch.tensor([1] * 20))
    assert s.float().mean() > 0.9


# --- PixelSNAIL orderings --------------------------------------------------------------------
def test_pixelsnail_zigzag_order_and_autoregressive():
    spec = DataSpec((1, 3, 3), 2)
    model = tiny("pixelsnail", spec, ordering="zigzag")
    assert model.order.tolist() == [0, 1, 2, 5, 4, 3, 6, 7, 8]
    allx = all_configurations(spec)
    with torch.no_grad():
        assert abs(torch.logsumexp(model.log_prob(allx).double(), 0).exp().item() - 1) < 1e-5
    x = allx[77:78]
    base = model.log_prob(x, reduce=False).flatten(1)
    order = model.order.tolist()
    for pos, j in enumerate(order):
        x2 = x.clone().view(1, -1)
        x2[:, j] = 1 - x2[:, j]
        terms = model.log_prob(x2.view_as(x), reduce=False).flatten(1)
        assert torch.allclose(terms[:, order[:pos]], base[:, order[:pos]], atol=1e-5)
    a = model.sample(3, generator=torch.Generator().manual_seed(1), naive=True)
    assert torch.equal(a, model.sample(3, generator=torch.Generator().manual_seed(1)))


# --- PixelCNN++ ----------------------------------------------------------------------------------
def test_pixelcnn_pp_per_channel_terms_equal_joint_mixture():
    """The product of the per-channel conditionals is the paper's joint pixel mixture
    sum_m pi_m p(R|m) p(G|R,m) p(B|R,G,m), evaluated here directly."""
    from arstudio.distributions import DiscretizedLogisticMixture

    spec = DataSpec((3, 1, 1), 5)
    model = tiny("pixelcnn++", spec, mixtures=3)
    x = all_configurations(spec)[::7]  # (n, 3, 1, 1)
    n, M = x.shape[0], 3
    with torch.no_grad():
        s = model.scale_input(x)
        p = model.out(model.features(s)).view(n, -1, M)  # one pixel: (n, 10-ish, M)
        logits, means, ls = p[:, 0], p[:, 1:4], p[:, 4:7]
        a, b, c = torch.tanh(p[:, 7]), torch.tanh(p[:, 8]), torch.tanh(p[:, 9])
        xs = s.view(n, 3, 1)
        mu = torch.stack([means[:, 0], means[:, 1] + a * xs[:, 0],
                          means[:, 2] + b * xs[:, 0] + c * xs[:, 1]], 1)  # (n, 3, M)
        comp = DiscretizedLogisticMixture(torch.zeros(n, 3, M, 1), mu.unsqueeze(-1),
                                          ls.unsqueeze(-1), 5)
        per = comp.log_prob(x.view(n, 3, 1).expand(n, 3, M)).sum(1)  # (n, M)
        joint = torch.logsumexp(torch.log_softmax(logits, -1) + per, -1)
        torch.testing.assert_close(model.log_prob(x), joint, atol=1e-4, rtol=1e-4)


def test_dmol_edge_bins_take_the_tails():
    """Level 0 and level K-1 hold all the mass beyond them (PixelCNN++ edge cases)."""
    from arstudio.distributions import DiscretizedLogisticMixture

    d = DiscretizedLogisticMixture(torch.zeros(2, 1), torch.tensor([[-3.0], [3.0]]),
                                   torch.full((2, 1), -1.0), 256)
    probs = d.probs()
    assert probs[0, 0] > 0.99 and probs[1, 255] > 0.99
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))


# --- PixelRNN ----------------------------------------------------------------------------------
def test_skew_round_trip_and_layout():
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 2, 3, 4)
    s = skew(x)
    assert s.shape == (1, 2, 3, 6)
    assert s[0, 0, 2, 2] == x[0, 0, 2, 0]  # row r starts at column r
    assert torch.equal(unskew(s, 4), x)


# two layers (the diagonal model's first layer reads its own backward input), more
# rows than the diagonal's phantom sweep needs to show, RGB and binary
PIXELRNN_SPECS = [DataSpec((3, 5, 5), 4), DataSpec((1, 6, 5), 2)]


@pytest.mark.parametrize("name", PIXELRNNS)
@pytest.mark.parametrize("spec", PIXELRNN_SPECS, ids=["rgb", "binary"])
def test_pixelrnn_cached_conditionals_equal_teacher_forcing(name, spec):
    model = tiny(name, spec, layers=2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)  # larger activations: errors would show
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(2, *spec.shape, dtype=torch.long)
    stepper = model.make_stepper(x)
    with torch.no_grad():
        for i in model.order.tolist():
            cached, full = stepper.conditional(i, x), model.conditionals(x).at(i)
            torch.testing.assert_close(cached.probs(), full.probs(), atol=1e-5, rtol=1e-4)
            x.view(2, -1)[:, i] = cached.sample(1.0, g)


@pytest.mark.parametrize("name", PIXELRNNS)
@pytest.mark.parametrize("spec", PIXELRNN_SPECS, ids=["rgb", "binary"])
def test_pixelrnn_cached_equals_naive_with_completion(name, spec):
    model = tiny(name, spec, layers=2)
    g = torch.Generator().manual_seed(4)
    known = torch.randint(0, spec.levels, spec.shape, generator=g)
    mask = torch.rand(spec.shape, generator=g) < 0.3
    mask[:, 0] = True  # the first row known: the row sweeps start on a caught-up row
    mask[:, 3] = True  # a known row in the middle
    mask[:, 4, 2] = True  # a known pixel ...
    mask[-1, 2, 1] = True  # ... and a pixel whose last channel alone is known
    mask[:-1, 2, 1] = False
    a = model.sample(3, known=known, mask=mask, generator=torch.Generator().manual_seed(5), naive=True)
    b = model.sample(3, known=known, mask=mask, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(b[:, mask], known[mask].expand(3, -1))


def test_diagonal_phantom_edges_are_nonzero_per_row_constants():
    """The states left of column 0 that the naive sweep computes outside the image:
    nonzero from row 1 on and different per row, so the cache must reproduce them."""
    from arstudio.models._pixelrnn_diag_cache import phantom_edge

    model = tiny("pixelrnn-diag", DataSpec((1, 6, 5), 2), layers=2)
    with torch.no_grad():
        state, cell = phantom_edge(model.layers[1].backward_dir, 2, 6, torch.zeros(1))  # (H, n, h)
    assert state.shape == cell.shape == (6, 2, model.layers[1].out.weight.shape[0])
    assert not state[0].any() and not cell[0].any()  # row 0 starts at its first pixel
    assert all(state[r].abs().sum() > 0 for r in range(1, 6))
    assert not torch.allclose(state[1], state[2]) and torch.equal(state[:, 0], state[:, 1])


@pytest.mark.parametrize("name", PIXELRNNS)
def test_bundled_pixelrnn_cached_conditionals_equal_full_pass(name):
    """The trained 28×28 checkpoints (27 rows of phantoms, three layers): the cached
    stepper walked along a test image gives the teacher-forced conditionals."""
    from arstudio.checkpoint import load_checkpoint
    from arstudio.paths import BUNDLED_MODELS

    model = load_checkpoint(BUNDLED_MODELS / f"{name}-mnist5k-binary.safetensors")
    x = torch.randint(0, 2, (2, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    stepper = model.make_stepper(x)
    with torch.no_grad():
        full = model.conditionals(x)
        for i in model.order.tolist():
            torch.testing.assert_close(stepper.conditional(i, x).probs(), full.at(i).probs(),
                                       atol=1e-5, rtol=1e-4)


# --- benches (smoke: they run and print the comparison) ----------------------------------------
def test_sampling_bench_prints_ratio(capsys):
    from arstudio.bench import sampling_images

    sampling_images.main(["--device", "cpu", "--n", "1", "--pixels", "3", "--models", "pixelcnn"])
    out = capsys.readouterr().out
    assert "speed-up" in out and "pixelcnn" in out and "yes" in out.splitlines()[-1]


def test_sampling_bench_times_checkpoints(capsys):
    from arstudio.bench import sampling_images
    from arstudio.paths import BUNDLED_MODELS

    path = BUNDLED_MODELS / "pixelrnn-row-mnist5k-binary.safetensors"
    sampling_images.main(["--device", "cpu", "--n", "1", "--pixels", "3", "--checkpoint", str(path)])
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("pixelrnn-row-mnist5k-binary ") and "80,834" in last and last.endswith("yes")


def test_training_bench_prints_images_per_second(capsys):
    from arstudio.bench import training

    training.main(["--device", "cpu", "--batch", "2", "--steps", "1", "--warmup", "1",
                   "--channels", "8", "--layers", "2"])
    out = capsys.readouterr().out
    assert out.count("images/s") == 2


def test_pixelsnail_cache_with_keys_and_values_of_different_widths():
    """The defaults (and the bundled model) use 16-wide keys and 32-wide values: the cached
    sampler must hold both widths and still give the naive path's samples."""
    import torch

    import arstudio
    from arstudio.spec import DataSpec

    torch.manual_seed(0)
    model = arstudio.build_model("pixelsnail", DataSpec((1, 6, 6), 2), channels=16, layers=1,
                                 key_channels=8, value_channels=16)
    cached = model.sample(3, generator=torch.Generator().manual_seed(5))
    naive = model.sample(3, generator=torch.Generator().manual_seed(5), naive=True)
    assert torch.equal(cached, naive)


def test_causal_conv_skips_the_mask_product_only_where_nothing_is_masked():
    """``masked_weight`` returns the weight itself only for an all-ones mask (the
    training speed-up of issue 19); every mode still convolves weight * mask."""
    from arstudio.nn import CausalConv2d

    torch.manual_seed(0)
    seen = set()
    for mode in ("A", "B", "rows", "above"):
        for kernel, anchor in (((1, 1), 0), ((1, 3), 2), ((3, 5), 2)):
            for groups in (1, 3):
                conv = CausalConv2d(6, 6, kernel, anchor, mode, groups)
                assert conv.unmasked == bool(conv.mask.all())
                seen.add(conv.unmasked)
                assert torch.equal(conv.masked_weight(), conv.weight * conv.mask)
                x = torch.randn(2, 6, 5, 5)
                ref = torch.nn.functional.conv2d(torch.nn.functional.pad(x, conv.padding),
                                                 conv.weight * conv.mask, conv.bias)
                assert torch.allclose(conv(x), ref, atol=1e-6)
    assert seen == {True, False}


def test_gated_layer_one_convolution_for_h_out_and_skip_equals_the_two():
    """The gated layer computes h_out and skip as one 1×1 convolution over the gate:
    the same values as the two separate layers (whose parameters it keeps)."""
    from arstudio.nn import gated_tanh

    spec = DataSpec((3, 6, 6), 4)
    model = tiny("gated-pixelcnn", spec, channels=12, layers=3, skip_channels=6)
    x = torch.randn(2, 3, 6, 6)
    v, h = x, x
    for layer in model.layers:
        v_pre, h_pre = layer.v(v), layer.h(h)
        hg = gated_tanh(h_pre + layer.link(v_pre))
        want = (gated_tanh(v_pre), layer.h_out(hg) + (0 if layer.first else h), layer.skip(hg))
        got = layer(v, h, None)
        for a, b in zip(got, want, strict=True):
            assert torch.allclose(a, b, atol=1e-6)
        v, h = got[0], got[1]


def test_gated_tanh_gradient_equals_autograds():
    """The gated unit's own backward gives autograd's gradient of tanh(f) ⊙ σ(g)."""
    from arstudio.nn import gated_tanh

    torch.manual_seed(0)
    for shape, dim in (((2, 6, 3, 4), 1), ((3, 5, 8), -1)):
        pre = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        w = torch.randn_like(gated_tanh(pre.detach(), dim))
        (gated_tanh(pre, dim) * w).sum().backward()
        ref = pre.detach().clone().requires_grad_()
        a, b = ref.chunk(2, dim)
        (torch.tanh(a) * torch.sigmoid(b) * w).sum().backward()
        assert torch.allclose(pre.grad, ref.grad, atol=1e-12)
        assert torch.autograd.gradcheck(lambda p: gated_tanh(p, dim), (ref.detach().requires_grad_(),))
        # batched gradients (a whole Jacobian in one backward: the receptive-field probes)
        x = ref.detach().requires_grad_()
        out = gated_tanh(x, dim).flatten()
        jac = torch.autograd.grad(out, x, torch.eye(len(out), dtype=x.dtype), is_grads_batched=True)[0]
        f = lambda p: torch.tanh(p.chunk(2, dim)[0]).mul(torch.sigmoid(p.chunk(2, dim)[1])).flatten()  # noqa: E731
        assert torch.allclose(jac.reshape(len(out), -1),
                              torch.autograd.functional.jacobian(f, x.detach()).reshape(len(out), -1), atol=1e-12)
