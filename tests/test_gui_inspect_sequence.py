"""The Inspect tab on real tiny models: click a time step, read the chart and the receptive field;
see MADE's masks and reachability."""
import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

import arstudio
from arstudio.checkpoint import save_checkpoint
from arstudio.gui.inspect_tab import InspectTab
from arstudio.gui.state import StudioState
from arstudio.inspect.connectivity import autograd_dependence
from arstudio.inspect.sequence import dilation_tree, sequence_receptive_field
from arstudio.spec import DataSpec

SEQ = DataSpec((32,), levels=6, modality="sequence")


@pytest.fixture
def wavenet_ckpt(tmp_path):
    torch.manual_seed(0)
    model = arstudio.build_model("wavenet", SEQ, residual_channels=8, dilation_channels=8,
                                 skip_channels=8, layers_per_stack=3, stacks=1)
    return model, save_checkpoint(model, tmp_path / "wavenet.safetensors")


def open_tab(qtbot, path, sequence=True):
    """The Inspect tab on a checkpoint; waits for the timeline (1-D models) or the masks."""
    state = StudioState()
    tab = InspectTab(state)
    qtbot.addWidget(tab)
    tab.resize(1000, 800)
    tab.show()
    qtbot.waitExposed(tab)
    ready = tab.sequence.updated if sequence else tab.connectivity.updated
    with qtbot.waitSignal(ready, timeout=20000):
        state.set("checkpoint", path)
    return tab


def test_click_a_time_step_shows_its_conditional_and_receptive_field(qtbot, wavenet_ckpt):
    model, path = wavenet_ckpt
    tab = open_tab(qtbot, path)
    panel = tab.sequence
    assert not tab.timeline_page.is_empty and panel.x is not None and panel.x.shape == (32,)
    t = 20
    with qtbot.waitSignal(panel.updated, timeout=20000):
        qtbot.mouseClick(panel.timeline.viewport(), Qt.MouseButton.LeftButton, pos=panel.step_position(t))
    assert panel.t == t and panel.last["t"] == t and panel.step.value() == t

    x = torch.as_tensor(panel.x).long()
    # the chart: bar k is exp(log_prob(reduce=False)) at t of the sequence with x_t = k
    variants = x.repeat(SEQ.levels, 1)
    variants[:, t] = torch.arange(SEQ.levels)
    model.eval()
    expected = model.log_prob(variants, reduce=False).detach()[:, t].exp().numpy()
    heights = np.asarray(panel.bars.opts["height"])
    np.testing.assert_allclose(heights, expected, rtol=1e-5, atol=1e-7)
    assert abs(heights.sum() - 1) < 1e-5 and panel.last["value"] == int(x[t])

    # the shaded steps are the autograd receptive field, and the tree's input row
    field = sequence_receptive_field(model, x, t)
    assert panel.field_steps().tolist() == torch.nonzero(field).flatten().tolist()
    tree = dilation_tree(model, 32, t)
    assert panel.field_steps().tolist() == tree.inputs == list(range(t - model.receptive_field, t))
    assert panel.tree_plot.isVisible()
    xs, ys = panel.tree_dots.getData()
    assert sorted(zip(ys.astype(int), xs.astype(int))) == sorted(
        (lvl, s) for lvl, steps in enumerate(tree.levels) for s in steps)


def test_the_step_box_selects_another_step(qtbot, wavenet_ckpt):
    _model, path = wavenet_ckpt
    panel = open_tab(qtbot, path).sequence
    with qtbot.waitSignal(panel.updated, timeout=20000):
        panel.step.setValue(3)
    assert panel.last["t"] == 3 and panel.field_steps().tolist() == [0, 1, 2]  # clipped at the start


def test_masks_page_shows_the_made_masks_and_reachability(qtbot, tmp_path):
    torch.manual_seed(0)
    spec = DataSpec((1, 2, 3), levels=2)
    model = arstudio.build_model("made", spec, hidden=(24,))
    model.set_order([5, 2, 0, 3, 1, 4])
    path = save_checkpoint(model, tmp_path / "made.safetensors")
    tab = open_tab(qtbot, path, sequence=False)
    qtbot.waitUntil(lambda: not tab.masks_page.is_empty, timeout=5000)
    assert tab.timeline_page.is_empty and "1-D" in tab.timeline_page.text  # images: what to do instead
    panel = tab.connectivity
    assert len(panel.images) == len(model.layers) + 1
    panel.sorted.setChecked(False)  # the masks as stored
    for image, layer in zip(panel.images, model.layers):
        shown = np.transpose(image.image, (1, 0, 2))[..., 0] > 128  # white = kept
        assert np.array_equal(shown, layer.masks[0].numpy())
    panel.sorted.setChecked(True)  # hidden units relabelled by degree: the same network
    first, second = (np.transpose(im.image, (1, 0, 2))[..., 0] > 128 for im in panel.images[:2])
    assert sorted(map(tuple, first)) == sorted(map(tuple, model.layers[0].masks[0].numpy()))
    assert np.all(np.diff(first.sum(1)) >= 0)  # the staircase
    assert np.array_equal((second.astype(int) @ first.astype(int)) > 0,
                          (model.layers[1].masks[0].numpy().astype(int) @ model.layers[0].masks[0].numpy()) > 0)
    order = [5, 2, 0, 3, 1, 4]
    depends = autograd_dependence(model, torch.randint(0, 2, (32, *spec.shape)))
    assert np.array_equal(panel.reach_shown(), depends[np.ix_(order, order)])
    assert not np.triu(panel.reach_shown()).any() and np.tril(panel.reach_shown(), -1)[np.tril_indices(6, -1)].all()
    reach_image = np.transpose(panel.images[-1].image, (1, 0, 2))
    assert np.array_equal(reach_image[..., 1] > 128, panel.reach_shown())
    panel.in_order.setChecked(False)
    assert np.array_equal(panel.reach_shown(), depends)


def test_switching_models_keeps_only_the_new_models_sequence(qtbot, wavenet_ckpt, tmp_path):
    _, first = wavenet_ckpt
    spec = DataSpec((12,), levels=4, modality="sequence")
    torch.manual_seed(0)
    rnn = arstudio.build_model("rnn-arm", spec, hidden=16, embedding=8)
    second = save_checkpoint(rnn, tmp_path / "rnn.safetensors")
    tab = open_tab(qtbot, first)
    panel = tab.sequence
    with qtbot.waitSignal(panel.updated, timeout=20000):
        tab.state.set("checkpoint", second)  # answers about the WaveNet arrive late: dropped
    qtbot.wait(200)
    assert panel.x.shape == (12,) and panel.last["t"] == 11
    assert not panel.tree_plot.isVisible()  # no dilation tree for an RNN
    with qtbot.waitSignal(panel.updated, timeout=20000):
        panel.step.setValue(7)
    assert panel.field_steps().tolist() == list(range(7))  # the RNN sees all of x_<t


def test_a_hidden_tab_starts_no_work_until_shown(qtbot, wavenet_ckpt):
    _, path = wavenet_ckpt
    state = StudioState()
    tab = InspectTab(state)
    qtbot.addWidget(tab)
    state.set("checkpoint", path)
    assert tab.sequence.path is None  # nothing sampled while nobody looks
    with qtbot.waitSignal(tab.sequence.updated, timeout=20000):
        tab.show()
    assert tab.sequence.path == path and tab.sequence.x.shape == (32,)
