"""PixelCNN++'s cached sampler: ready maps, cache contents, conditionals, samples."""
from pathlib import Path

import pytest
import torch
import torch.autograd.forward_ad as fwAD

from arstudio.checkpoint import load_checkpoint
from arstudio.models._pixelcnn_pp_cache import PixelCNNppStepper, _plan, trace
from arstudio.models.pixelcnn_pp import DenseOps
from arstudio.models.registry import build_model, get_model_info
from arstudio.spec import DataSpec

BUNDLED = Path(__file__).resolve().parents[1] / "models" / "pixelcnn++-mnist5k-binary.safetensors"

# (shape, levels, scales): binary, K-level and RGB, odd sizes that the up-sampling crops
CASES = [((1, 5, 5), 2, 3), ((1, 4, 6), 4, 2), ((3, 8, 8), 4, 2), ((3, 7, 7), 4, 3),
         ((3, 1, 2), 2, 2)]
IDS = [f"{'x'.join(map(str, s))}-K{k}-S{n}" for s, k, n in CASES]


def tiny(shape, levels, scales, seed=0):
    torch.manual_seed(seed)
    cfg = {**get_model_info("pixelcnn++").presets["tiny"], "scales": scales}
    return build_model("pixelcnn++", DataSpec(shape, levels), **cfg).eval()


class RecordingOps(DenseOps):
    """The dense forward, keeping every intermediate in the order the trace makes nodes."""

    def __init__(self, s):
        self.values = [s]
        for name in ("conv", "concat_elu", "add", "cat", "elu", "gated_residual", "grow"):
            setattr(self, name, self._recorded(getattr(DenseOps, name)))

    def _recorded(self, op):
        def run(*args):
            self.values.append(op(*args))
            return self.values[-1]
        return run


def dense_intermediates(model, x):
    """Every node's dense value (B, ch, h, w) for data x, in trace order."""
    ops = RecordingOps(model.scale_input(x))
    model.features(ops.values[0], ops=ops)
    return ops.values


def cache_as_image(cache, height, width):
    """A whole-map cache (keep_all: rows 0..height-1, then the zero entry), (n, L, ch) ->
    (n, ch, height, width)."""
    assert not cache[:, -1].any()  # the padding entry stays zero
    return cache[:, :-1].reshape(cache.shape[0], height, width, -1).permute(0, 3, 1, 2)


@pytest.mark.parametrize("shape,levels,scales", CASES, ids=IDS)
def test_ready_maps_equal_true_dependencies(shape, levels, scales):
    """Every node's ready map is exactly the last data pixel autograd says it depends on."""
    model = tiny(shape, levels, scales)
    C, H, W = shape
    nodes = trace(model, H, W)
    # one batch item per data pixel q; its tangent is one-hot on pixel q (all channels)
    x = torch.randint(0, levels, (1, *shape), generator=torch.Generator().manual_seed(1))
    tangent = torch.eye(H * W).view(H * W, 1, H, W).expand(-1, C, -1, -1)
    with torch.no_grad(), fwAD.dual_level():
        s = fwAD.make_dual(model.scale_input(x).repeat(H * W, 1, 1, 1),
                          tangent.contiguous())
        ops = RecordingOps(s)
        model.features(s, ops=ops)
        tangents = [fwAD.unpack_dual(v).tangent for v in ops.values]
    assert len(tangents) == len(nodes)
    pixel = torch.arange(H * W).view(-1, 1, 1)
    for node, t in zip(nodes, tangents):
        depends = t.abs().sum(1) > 0  # (q, h, w): position depends on data pixel q
        true_ready = torch.where(depends, pixel, -1).amax(0)
        assert torch.equal(node.ready, true_ready), (node.kind, node.ready, true_ready)
    # the premise of the sampler: features at pixel p need only pixels before p
    assert (nodes[-1].ready.flatten() <= torch.arange(H * W) - 1).all()


def sampled_trajectory_check(model, x, pixels=None, keep_all=False):
    """Cached conditionals along x equal teacher forcing; entries not yet generated hold
    noise, which the stepper must never read. Returns the stepper (rows in rings, or
    whole maps with keep_all)."""
    n, C = x.shape[:2]
    full = model.conditionals(x)
    noise = torch.randint_like(x, 0, model.spec.levels, generator=torch.Generator())
    live = noise.clone()
    assert isinstance(model.make_stepper(live), PixelCNNppStepper)
    stepper = PixelCNNppStepper(model, live, keep_all=keep_all)
    for index in model.order.tolist()[: None if pixels is None else pixels * C]:
        got, want = stepper.conditional(index, live), full.at(index)
        for a, b in zip(got.params(), want.params()):
            torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-5)
        torch.testing.assert_close(got.probs(), want.probs(), atol=1e-5, rtol=0)
        live.view(n, -1)[:, index] = x.view(n, -1)[:, index]
    return stepper


@pytest.mark.parametrize("shape,levels,scales", CASES, ids=IDS)
def test_cached_conditionals_and_caches_match_teacher_forcing(shape, levels, scales):
    model = tiny(shape, levels, scales)
    x = model.sample(3, generator=torch.Generator().manual_seed(2))
    sampled_trajectory_check(model, x)  # rows in rings
    stepper = sampled_trajectory_check(model, x, keep_all=True)
    assert stepper.fused  # the concat_elu inputs of convolutions are never stored
    # after the last pixel every cache holds the dense value wherever it was needed
    _, H, W = shape
    for node, dense in zip(stepper.nodes, dense_intermediates(model, x)):
        if node in stepper.fused:  # computed inside the convolutions that read it
            assert node.kind == "concat_elu" and node not in stepper.caches
            continue
        needed = node.ready < H * W - 1  # the last pixel's data feed nothing generated
        cached = cache_as_image(stepper.caches[node], node.height, node.width)
        torch.testing.assert_close(cached[..., needed], dense[..., needed].float(),
                                   atol=2e-5, rtol=1e-5, msg=node.kind)


# naive sampling reruns the net per entry: RGB on a smaller (odd) image than above
COMPLETION = [((1, 5, 5), 2, 3), ((1, 4, 6), 4, 2), ((3, 5, 3), 4, 3)]


@pytest.mark.parametrize("shape,levels,scales", COMPLETION,
                         ids=[f"{'x'.join(map(str, s))}-K{k}-S{n}" for s, k, n in COMPLETION])
def test_cached_equals_naive_under_completion(shape, levels, scales):
    model = tiny(shape, levels, scales)
    H = shape[1]
    g = torch.Generator().manual_seed(3)
    known = torch.randint(0, levels, (4, *shape), generator=g)
    rows = torch.zeros(4, *shape, dtype=torch.bool)
    rows[:, :, : H // 2] = True  # whole known rows: pixels skipped without a network pass
    scattered = torch.rand(4, *shape, generator=g) < 0.4  # per sample, per channel
    for mask in (rows, scattered, rows | scattered):
        a = model.sample(4, known, mask, generator=torch.Generator().manual_seed(4), naive=True)
        b = model.sample(4, known, mask, generator=torch.Generator().manual_seed(4))
        assert torch.equal(a, b)
        assert torch.equal(b[mask], known[mask])


def test_caches_keep_a_few_rows_of_each_map():
    """At the bundled size (28 -> 14 -> 7), every cache is a ring of a few rows' worth: the
    whole sampler state is a small part of whole maps, and the rings are not loose (every one a
    slot shorter and a conditional goes wrong: checked on a small image)."""
    from arstudio.models._pixelcnn_pp_cache import Ring

    torch.manual_seed(0)
    model = build_model("pixelcnn++", DataSpec((1, 28, 28), 2), channels=8, resnets=2, scales=3).eval()
    x = torch.zeros(2, 1, 28, 28, dtype=torch.long)
    rings, whole = PixelCNNppStepper(model, x), PixelCNNppStepper(model, x, keep_all=True)
    assert max(r.slots for r in rings.rings.values()) <= 4 * 28  # at most four rows' worth
    size = lambda s: sum(c.numel() for c in s.caches.values())
    assert size(rings) < 0.2 * size(whole)
    model = tiny((1, 7, 7), 2, 3)
    x = model.sample(2, generator=torch.Generator().manual_seed(6))
    short = PixelCNNppStepper(model, x)
    for node in short.caches:  # every ring one slot short: some value is overwritten too soon
        if short.rings[node].slots > 1:
            short.rings[node] = Ring(short.rings[node].slots - 1, node.width)
            short.caches[node] = x.new_zeros((2, short.rings[node].size, node.channels), dtype=torch.float)
    short.plans = {m: _plan(m, x.device, short.rings, short.fused) for m in short.nodes}
    short.head_index = short.rings[short.nodes[-1]].index
    full = model.conditionals(x)
    assert any(not torch.allclose(short.conditional(i, x).probs(), full.at(i).probs(), atol=1e-4)
               for i in model.order.tolist())


def test_stepper_adds_no_state():
    model = tiny((3, 5, 5), 4, 3)
    keys = set(model.state_dict())
    model.make_stepper(torch.zeros(2, 3, 5, 5, dtype=torch.long))
    assert set(model.state_dict()) == keys


@pytest.mark.skipif(not BUNDLED.exists(), reason="bundled checkpoint not present")
def test_bundled_checkpoint_cached_conditionals():
    """The real configuration (28 -> 14 -> 7, two resnets a scale): the first rows."""
    model = load_checkpoint(BUNDLED).eval()
    x = torch.randint(0, 2, (2, 1, 28, 28), generator=torch.Generator().manual_seed(5))
    sampled_trajectory_check(model, x, pixels=3 * 28)


def test_sampling_bench_times_checkpoints(capsys):
    from arstudio.bench import sampling_images

    small = BUNDLED.parent / "pixelcnn-digits.safetensors"
    sampling_images.main(["--device", "cpu", "--n", "1", "--pixels", "3", "--threads", "1",
                          "--checkpoint", str(small)])
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("pixelcnn-digits ") and last.endswith("yes")
