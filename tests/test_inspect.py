"""Inspector core: per-pixel conditionals, surprise maps and receptive fields on real models."""
import math

import pytest
import torch

import arstudio
from arstudio.inspect.conditionals import pixel_conditional
from arstudio.models.registry import load_all
from arstudio.spec import DataSpec

SPEC = DataSpec((1, 8, 8), levels=4)


def blind_spot(field, row, col, width):
    """Pixels earlier in raster order than (row, col) whose input never reaches its output."""
    earlier = torch.arange(field.numel()).view(field.shape) < row * width + col
    return earlier & (field == 0)


def test_pixel_conditional_is_exp_of_the_per_dimension_log_prob():
    torch.manual_seed(0)
    model = arstudio.build_model("pixelcnn", SPEC, channels=8, layers=1)
    x = torch.randint(0, 4, SPEC.shape)
    terms = model.log_prob(x[None], reduce=False).detach()[0].reshape(-1)
    for index in (0, 9, 27, 63):
        c = pixel_conditional(model, x, index)
        assert c.discrete and c.probs.shape == (4,)
        assert math.isclose(float(c.probs.sum()), 1.0, rel_tol=1e-5)
        level = int(x.reshape(-1)[index])
        assert c.value == level
        assert math.isclose(float(c.probs[level]), math.exp(float(terms[index])), rel_tol=1e-5)
        assert math.isclose(c.log_prob, float(terms[index]), rel_tol=1e-5, abs_tol=1e-6)


def test_nll_map_sums_to_the_bits_per_dim():
    torch.manual_seed(1)
    model = arstudio.build_model("pixelcnn", SPEC, channels=8, layers=1)
    x = torch.randint(0, 4, SPEC.shape)
    surprise = arstudio.nll_map(model, x)
    assert surprise.shape == SPEC.shape and (surprise >= 0).all()
    assert math.isclose(float(surprise.mean()), float(model.bits_per_dim(x[None]).detach()[0]), rel_tol=1e-5)


def test_pixelcnn_has_a_blind_spot_above_right():
    torch.manual_seed(2)
    model = arstudio.build_model("pixelcnn", SPEC, channels=16, layers=3, first_kernel=3)
    x = torch.randint(0, 4, SPEC.shape)
    row, col = 5, 2
    field = arstudio.receptive_field(model, x, row * 8 + col)[0]  # (8, 8)
    assert (field.reshape(-1)[row * 8 + col:] == 0).all()  # nothing at or after the pixel
    assert field[row - 1, col] > 0 and field[row - 1, col + 1] > 0 and field[row, col - 1] > 0
    blind = blind_spot(field, row, col, 8)
    # the row just above, two or more columns to the right, never reaches the output
    assert blind[row - 1, col + 2:].all()
    # ...although pixels further up and to the right do: a hole, not the edge of the field
    assert field[row - 2, col + 2] > 0


@pytest.mark.skipif("gated-pixelcnn" not in load_all(), reason="gated-pixelcnn not merged yet")
def test_gated_pixelcnn_has_no_blind_spot():
    torch.manual_seed(3)
    model = arstudio.build_model("gated-pixelcnn", SPEC, **arstudio.get_model_info("gated-pixelcnn").presets["tiny"])
    x = torch.randint(0, 4, SPEC.shape)
    row, col = 5, 2
    field = arstudio.receptive_field(model, x, row * 8 + col)[0]
    assert (field.reshape(-1)[row * 8 + col:] == 0).all()
    # where PixelCNN is blind (the row above, to the right) the gated stacks see
    assert (field[row - 1, col:col + 3] > 0).all()


def test_real_valued_conditional_is_a_density_matching_log_prob():
    from arstudio.distributions import GaussianMixture
    from arstudio.models.base import ARModel

    class TinyMixtureAR(ARModel):
        def __init__(self):
            super().__init__(DataSpec((4,), levels=None, modality="vector"), ARModel.Config())
            self.weights = torch.nn.Parameter(torch.randn(2, 4, 4))  # (component, i, j)
            self.log_stds = torch.nn.Parameter(torch.randn(4, 2) * 0.3)

        def conditionals(self, x, **cond):
            causal = torch.tril(torch.ones(4, 4), -1)  # x_i sees x_j for j < i
            means = torch.einsum("kij,bj->bik", self.weights * causal, x)  # (B, 4, 2)
            B = len(x)
            return GaussianMixture(torch.zeros(B, 4, 2), means, self.log_stds.expand(B, 4, 2))

    torch.manual_seed(4)
    model = TinyMixtureAR()
    x = torch.randn(4)
    terms = model.log_prob(x[None], reduce=False).detach()[0]
    for index in range(4):
        c = pixel_conditional(model, x, index, grid_points=2000)
        assert not c.discrete and c.grid.shape == c.density.shape == (2000,)
        mass = float(((c.density[1:] + c.density[:-1]) / 2 * (c.grid[1:] - c.grid[:-1])).sum())
        assert abs(mass - 1) < 1e-3  # the curve shown is a normalised density
        assert math.isclose(c.log_prob, float(terms[index]), rel_tol=1e-5, abs_tol=1e-6)
        at_value = float(torch.tensor(c.density)[torch.tensor(c.grid).sub(c.value).abs().argmin()])
        assert abs(at_value - math.exp(c.log_prob)) < 0.02 * max(1.0, at_value)


def test_density_grid_of_a_2d_model_is_normalised_and_matches_log_prob():
    from arstudio.distributions import GaussianMixture
    from arstudio.inspect.density import density_grid
    from arstudio.models.base import ARModel

    class Tiny2D(ARModel):  # x0 ~ N(0.5, 0.6²); x1 | x0 ~ N(-x0, 0.4²) mixed with N(x0, 0.3²)
        def __init__(self):
            super().__init__(DataSpec((2,), levels=None, modality="vector"), ARModel.Config())

        def conditionals(self, x, **cond):
            B = len(x)
            means = torch.stack([torch.full((B, 2), 0.5), torch.stack([-x[:, 0], x[:, 0]], -1)], 1)
            log_stds = torch.tensor([[0.6, 0.6], [0.4, 0.3]]).log().expand(B, 2, 2)
            return GaussianMixture(torch.zeros(B, 2, 2), means, log_stds)

    model = Tiny2D()
    grid = density_grid(model, lo=(-3, -4), hi=(4, 4), steps=150)
    assert grid.density.shape == (150, 150) and abs(grid.mass() - 1) < 0.01
    i, j = 100, 40
    point = torch.tensor([[grid.xs[i], grid.ys[j]]])
    assert math.isclose(grid.density[i, j], float(model.log_prob(point).exp()), rel_tol=1e-5)


def _probe_cases():
    from arstudio.models.registry import list_models

    load_all()
    specs = {"image": DataSpec((1, 3, 3), 2), "sequence": DataSpec((6,), 3),
             "vector": DataSpec((6,), 3, "vector")}
    real = {"vector": DataSpec((4,), None, "vector"), "sequence": DataSpec((5,), None)}
    for info in list_models():
        if not info.cls.autoregressive:  # the VQ-VAE: its prior is the AR model probed
            continue
        modality = info.modalities[0]
        spec = specs.get(modality) if info.discrete in (True, None) else real.get(modality)
        if spec is not None:
            yield pytest.param(info, spec, id=info.name)


@pytest.mark.parametrize("info,spec", list(_probe_cases()))
def test_every_model_has_a_receptive_field_through_its_input_hook(info, spec):
    """One probe for all models: the last dimension in order depends on some earlier ones
    and on nothing at or after itself, and the gradient equals an autograd-free check
    (changing an input the field says is unused leaves the term unchanged)."""
    torch.manual_seed(0)
    model = arstudio.build_model(info.name, spec, **info.presets.get("tiny", {})).eval()
    with torch.no_grad():  # no weight left at an exact zero by its initialisation (linear AR)
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.randint(0, spec.levels, spec.shape) if spec.discrete else torch.randn(spec.shape)
    order = model.order.tolist()
    last = order[-1]
    field = arstudio.receptive_field(model, x, last).reshape(-1)
    assert field.shape == (spec.num_dims,) and field[last] == 0
    assert field.sum() > 0, f"{info.name}: the probe found no dependence at all"
    assert "_probe" not in vars(model)
    base = model.log_prob(x[None], reduce=False).reshape(-1)[last]
    for j in order[:-1]:
        if field[j] == 0:  # unused by the probe: the term must not move when x_j does
            x2 = x.clone().reshape(-1)
            x2[j] = (x2[j] + 1) % spec.levels if spec.discrete else x2[j] + 1.5
            moved = model.log_prob(x2.view(spec.shape)[None], reduce=False).reshape(-1)[last]
            assert torch.allclose(moved, base, atol=1e-6), (info.name, j)
