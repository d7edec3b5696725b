"""Sequence receptive fields, WaveNet's dilation tree, and masked-linear connectivity."""
import itertools

import numpy as np
import pytest
import torch

import arstudio
from arstudio.inspect.connectivity import autograd_dependence, mask_connectivity
from arstudio.inspect.sequence import dilation_tree, sequence_receptive_field
from arstudio.spec import DataSpec

SEQ = DataSpec((24,), levels=8, modality="sequence")


def tiny_wavenet(**kw):
    torch.manual_seed(0)
    return arstudio.build_model("wavenet", SEQ, residual_channels=8, dilation_channels=8,
                                skip_channels=8, layers_per_stack=3, stacks=1, **kw)


@pytest.mark.parametrize("t", [0, 1, 5, 20, 23])
def test_wavenet_dilation_tree_inputs_equal_the_autograd_receptive_field(t):
    model = tiny_wavenet()
    x = torch.randint(0, 8, SEQ.shape)
    field = sequence_receptive_field(model, x, t)
    tree = dilation_tree(model, 24, t)
    assert tree.levels[-1] == [t] and len(tree.levels) == len(model.layers) + 2
    assert (field > 0).nonzero().flatten().tolist() == tree.inputs
    # the full window x_{t-R} .. x_{t-1}, clipped at the start of the sequence
    assert tree.inputs == list(range(max(0, t - model.receptive_field), t))
    # every edge joins a step to one on the level below, d steps back (d from the layer)
    for (s, s_below) in tree.edges[-1]:
        assert s - s_below in (0, model.layers[-1].conv.dilation[0])


def test_dilation_tree_levels_follow_the_dilations():
    model = tiny_wavenet()
    tree = dilation_tree(model, 24, 20)
    # walking down from t=20 through dilations 4, 2, 1 (kernel 2) then the type-A input conv
    assert tree.levels[3] == [16, 20]
    assert tree.levels[2] == [14, 16, 18, 20]
    assert tree.levels[1] == list(range(13, 21))
    assert tree.levels[0] == list(range(11, 20))


def test_causal_conv_arm_receptive_field_is_causal():
    torch.manual_seed(0)
    model = arstudio.build_model("causal-conv-arm", SEQ)
    x = torch.randint(0, 8, SEQ.shape)
    field = sequence_receptive_field(model, x, 12)
    assert field[12:].sum() == 0 and field[:12].sum() > 0


@pytest.mark.parametrize("name", ["made", "fvsbn", "masde"])
def test_mask_reachability_equals_autograd_and_is_strictly_lower_triangular(name):
    torch.manual_seed(0)
    spec = DataSpec((6,), levels=3, modality="sequence")
    model = arstudio.build_model(name, spec, **({"hidden": (32,)} if name != "fvsbn" else {}))
    conn = mask_connectivity(model)
    x = torch.randint(0, 3, (16, *spec.shape))  # a batch: a dead ReLU for one x hides a path
    assert np.array_equal(conn.reach, autograd_dependence(model, x))
    ordered = conn.reach[np.ix_(conn.order, conn.order)]
    assert not np.triu(ordered).any()  # strictly lower-triangular in the model's order
    if name != "masde":  # MASDE only sees a local window of parents
        assert conn.reach[1:, 0].all()  # the first entry reaches every later output
    # the chain of masks from inputs (D*fin) to outputs; MASDE's shortcut maps inputs to outputs
    chain = [m for n, m in zip(conn.names, conn.masks) if n != "direct"]
    assert chain[0].shape[1] == 6 * 3 and all(a.shape[0] == b.shape[1] for a, b in itertools.pairwise(chain))
    assert conn.reach_features.shape == (chain[-1].shape[0], 6 * 3)


def test_made_with_a_new_order_is_triangular_in_that_order():
    torch.manual_seed(0)
    spec = DataSpec((5,), levels=2, modality="vector")
    model = arstudio.build_model("made", spec, hidden=(32,))
    order = [3, 0, 4, 1, 2]
    model.set_order(order)
    conn = mask_connectivity(model)
    assert conn.order.tolist() == order
    assert np.array_equal(conn.reach, autograd_dependence(model, torch.randint(0, 2, (16, *spec.shape))))
    assert not np.triu(conn.reach[np.ix_(order, order)]).any()
    assert conn.reach[np.ix_(order, order)][np.tril_indices(5, -1)].all()  # full MADE: all earlier


@pytest.mark.parametrize("name", ["made", "fvsbn"])
def test_masked_linear_sequence_models_have_a_receptive_field_on_the_timeline(name):
    torch.manual_seed(0)
    spec = DataSpec((10,), levels=4, modality="sequence")
    model = arstudio.build_model(name, spec, **({"hidden": (64,)} if name == "made" else {}))
    x = torch.randint(0, 4, spec.shape)
    field = sequence_receptive_field(model, x, 6)
    assert field.shape == (10,) and field[6:].sum() == 0
    assert (field[:6] > 0).tolist() == mask_connectivity(model).reach[6, :6].tolist()


@pytest.mark.parametrize("name", ["rnn-arm", "text-transformer"])
def test_token_models_see_exactly_the_past(name):
    torch.manual_seed(0)
    spec = DataSpec((10,), levels=4, modality="sequence")
    from arstudio.models.registry import get_model_info

    model = arstudio.build_model(name, spec, **get_model_info(name).presets["tiny"])
    x = torch.randint(0, 4, spec.shape)
    for t in (0, 6, 9):
        field = sequence_receptive_field(model, x, t)
        assert (field > 0).nonzero().flatten().tolist() == list(range(t))  # all of x_<t, nothing else
