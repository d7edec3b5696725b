"""Fast generation you can see (issue 14): the naive / cached switch with its live speed
meter, the stepper's states, the class picker and the generation-order picker, driven
with pytest-qt against real bundled models."""
import numpy as np
import pytest
import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.paths import BUNDLED_MODELS

PCNN = BUNDLED_MODELS / "pixelcnn-digits.safetensors"  # 8×8, 17 levels: quick on both paths
DEEPNADE = BUNDLED_MODELS / "deepnade-digits-binary.safetensors"  # order-agnostic, any-order
COND = BUNDLED_MODELS / "gated-pixelcnn-cond-mnist5k-binary.safetensors"  # class-conditional


def _samples_panel(qtbot, key):
    from arstudio.gui.qt_samples import SamplesPanel

    panel = SamplesPanel()
    qtbot.addWidget(panel)
    panel.count.setValue(4)  # a quick grid on the naive path too
    panel.show()
    row = next(i for i, m in enumerate(panel.models) if m.key == key)
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        panel.list.setCurrentRow(row)
    return panel


def test_samples_speed_meter_shows_both_paths_and_identical_samples(qtbot):
    panel = _samples_panel(qtbot, "pixelcnn-digits")
    meter, widget = panel.speed.meter, panel.speed
    assert widget.path == "cached" and widget.path_box.isEnabled()
    cached = meter.timing("cached")
    assert cached.finished and cached.pixels == panel.count.value() * 64 and cached.rate > 0
    assert meter.timing("naive") is None and widget.same.text() == ""
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        widget.rerun.click()  # the same seed on the naive path
    assert widget.path == "naive"
    naive = meter.timing("naive")
    assert naive.finished and naive.key == cached.key and naive.rate > 0
    # the two paths really gave the same samples, and they are the model's own for that seed
    assert np.array_equal(naive.samples, cached.samples)
    model = load_checkpoint(PCNN)
    seed = cached.key[3]
    expect = model.sample(panel.count.value(), generator=torch.Generator().manual_seed(seed), naive=True)
    assert np.array_equal(expect.numpy(), naive.samples)
    widget.refresh()
    assert widget.same.text().startswith("✓")
    assert f"{cached.rate:,.0f} px/s" in widget.rates["cached"].text()
    assert f"{naive.rate:,.0f} px/s" in widget.rates["naive"].text()
    assert widget.speedup.text() == f"speed-up {cached.rate / naive.rate:.1f}×"
    # a new seed on one path: no claim about identity until the other path has run it too
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        panel.button.click()
    widget.refresh()
    assert meter.identical() is None and widget.same.text() == ""


def _complete_panel(qtbot, path):
    from arstudio.gui.complete_tab import CompletePanel
    from arstudio.gui.state import StudioState

    state = StudioState()
    panel = CompletePanel(state)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    with qtbot.waitSignal(panel.facts_ready, timeout=60_000):
        state.set("checkpoint", path)
    panel.speed.setValue(panel.speed.maximum())  # no animation delay
    return panel


def _complete(qtbot, panel, **kw):
    with qtbot.waitSignal(panel.completed, timeout=120_000):
        panel.start_completion(**kw)


def test_complete_speed_meter_naive_and_cached_complete_identically(qtbot):
    panel = _complete_panel(qtbot, PCNN)
    widget, meter = panel.speed_meter, panel.speed_meter.meter
    unknown = np.zeros((8, 8), bool)
    unknown[4:] = True  # the top half painted, the bottom half to be completed
    panel.canvas.set_image(np.full((1, 8, 8), 9, np.int64), unknown)
    _complete(qtbot, panel)
    cached = meter.timing("cached")
    assert cached.finished and cached.rate > 0 and cached.pixels == cached.total
    assert cached.total == panel.count.value() * 32
    assert (panel.results[:, :, :4] == 9).all()
    _complete(qtbot, panel, seed=panel._last_seed, sampler="naive")
    naive = meter.timing("naive")
    assert naive.finished and naive.rate > 0 and naive.key == cached.key
    assert np.array_equal(naive.samples, cached.samples) and np.array_equal(panel.results, naive.samples)
    widget.refresh()
    assert widget.same.text().startswith("✓") and widget.speedup.text().startswith("speed-up ")
    assert "px/s" in widget.rates["naive"].text() and "px/s" in widget.rates["cached"].text()


def test_states_view_shows_what_the_real_stepper_keeps_and_computes(qtbot):
    from arstudio.sampling.states import stepper_states

    panel = _complete_panel(qtbot, PCNN)
    _complete(qtbot, panel)
    row, col = 3, 5
    with qtbot.waitSignal(panel.states_ready, timeout=60_000):
        panel._view_pixel(0, row, col)
    maps = {m.name: m for m in panel.states.maps}
    assert "input_cache" in maps and "block_caches[0]" in maps
    # every layer computes exactly one new state for this pixel, and keeps the earlier ones
    model = load_checkpoint(PCNN)
    truth = {m.name: m for m in stepper_states(model, panel.results[0], row * 8 + col)}
    for name, m in maps.items():
        assert np.array_equal(m.kept, truth[name].kept) and np.array_equal(m.computed, truth[name].computed)
    for name in ("block_caches[0]", "block_caches[3]"):
        m = maps[name]
        assert m.computed.sum() == 1 and m.kept.sum() == row * 8 + col  # every earlier pixel's state
        (r, c), = np.argwhere(m.computed)
        assert not m.kept[r, c]
    assert "computed for this pixel" in panel.states.title.text() and len(panel.states.cells) == len(maps)


def test_samples_of_the_class_conditional_model_one_row_per_class_and_one_class(qtbot):
    from arstudio.gui.qt_samples import class_labels

    panel = _samples_panel(qtbot, "gated-pixelcnn-cond-mnist5k-binary")
    assert panel.classes.isVisible() and panel.classes.box.count() == 11  # "one row per class" + 10
    assert panel.classes.box.currentText() == "one row per class"
    cached = panel.speed.meter.timing("cached")
    labels, per = class_labels(10, panel.count.value(), None)
    assert per == 1 and labels.tolist() == list(range(10)) and cached.samples.shape == (10, 1, 28, 28)
    model = load_checkpoint(COND)
    seed = cached.key[3]
    expect = model.sample(10, generator=torch.Generator().manual_seed(seed), label=labels)
    assert np.array_equal(expect.numpy(), cached.samples)  # row k is class k
    h, w, _ = panel.grid_array.shape
    assert h > 5 * w  # ten rows of one
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        panel.classes.box.setCurrentText("7")  # choosing a class draws it
    only7 = panel.speed.meter.timing("cached")
    seed = only7.key[3]
    expect = model.sample(4, generator=torch.Generator().manual_seed(seed), label=torch.full((4,), 7))
    assert only7.key[4] == 7 and np.array_equal(expect.numpy(), only7.samples)


def test_complete_with_a_class_of_the_conditional_model(qtbot):
    from arstudio.sampling.completion import complete

    panel = _complete_panel(qtbot, COND)
    assert panel.classes.isVisible() and panel.classes.box.count() == 10
    panel.classes.box.setCurrentText("3")
    panel.count.setValue(1)
    unknown = np.zeros((28, 28), bool)
    unknown[14:] = True
    image = np.zeros((1, 28, 28), np.int64)
    panel.canvas.set_image(image, unknown)
    _complete(qtbot, panel)
    model = load_checkpoint(COND)
    known, mask = panel.canvas.known_and_mask()
    expect = complete(model, torch.as_tensor(known), torch.as_tensor(mask), 1, "raster",
                      generator=torch.Generator().manual_seed(panel._last_seed), label=torch.tensor(3))
    assert np.array_equal(expect.samples.numpy(), panel.results)
    # the inspector conditions on the same class: p(x_i | x_<i, class 3) of a clicked pixel
    from arstudio.inspect.conditionals import pixel_conditional

    with qtbot.waitSignal(panel.inspector.updated, timeout=60_000):
        panel._view_pixel(0, 20, 10)
    x = torch.as_tensor(panel.results[0])
    want = pixel_conditional(model, x, 20 * 28 + 10, label=torch.tensor(3))
    assert np.allclose(panel.inspector.last["probs"], want.probs)


def test_order_picker_drives_the_order_agnostic_model_and_the_animation_follows(qtbot):
    from arstudio.sampling.completion import complete
    from arstudio.sampling.orders import make_order, rank_map

    panel = _complete_panel(qtbot, DEEPNADE)
    picker = panel.order_picker
    assert picker.box.isEnabled() and picker.agnostic
    picker.box.setCurrentText("centre-out")
    order = make_order("centre-out", (1, 8, 8))
    assert np.array_equal(picker.order(), order)
    ranks = rank_map(order, (1, 8, 8))
    assert ranks[3, 3] == 0 or ranks[4, 4] == 0 or ranks[3, 4] == 0 or ranks[4, 3] == 0
    panel.count.setValue(2)
    panel.speed.setValue(8)  # ~215 px/s: the ~30 Hz timer sees many of the 64 steps
    seen = []
    original = panel._show_frames

    def record(index, pending=None):
        if index is not None and index >= 0:
            seen.append(index)
        original(index, pending)

    panel._show_frames = record
    _complete(qtbot, panel)
    assert len(seen) >= 3
    steps = [int(np.where(order == i)[0][0]) for i in seen]
    assert steps == sorted(steps)  # the animation walks the chosen order: centre first
    assert min(seen, key=lambda i: ranks.reshape(-1)[i]) == seen[0]
    model = load_checkpoint(DEEPNADE)
    known, mask = panel.canvas.known_and_mask()
    expect = complete(model, torch.as_tensor(known), torch.as_tensor(mask), 2, "raster",
                      generator=torch.Generator().manual_seed(panel._last_seed), order=order)
    assert np.array_equal(expect.samples.numpy(), panel.results)
    assert torch.equal(model.order, torch.arange(64))  # the model's own order is back afterwards


def test_an_order_painted_with_the_mouse(qtbot):
    from PySide6.QtCore import Qt

    panel = _complete_panel(qtbot, DEEPNADE)
    picker = panel.order_picker
    picker.box.setCurrentText("painted")
    view = picker.map
    cells = [(7, 7), (7, 6), (6, 6), (5, 6)]
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=view.cell_centre(*cells[0]))
    for cell in cells[1:]:
        qtbot.mouseMove(view, view.cell_centre(*cell))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=view.cell_centre(*cells[-1]))
    order = picker.order()
    assert [divmod(int(i), 8) for i in order[:len(cells)]] == cells  # painted first, in stroke order
    rest = order[len(cells):].tolist()
    assert rest == sorted(rest)  # the unpainted pixels after, in raster order


def test_fixed_order_models_show_their_own_order():
    from arstudio.sampling.orders import describe_order, make_order

    model = load_checkpoint(BUNDLED_MODELS / "pixelcnn-digits.safetensors")
    assert describe_order(model.order.numpy(), (1, 8, 8)) == "raster"
    import arstudio
    from arstudio.spec import DataSpec

    snail = arstudio.build_model("pixelsnail", DataSpec((1, 6, 5), 2, "image"), channels=8, blocks=1,
                                 ordering="zigzag")
    assert describe_order(snail.order.numpy(), (1, 6, 5)) == "zigzag"
    assert np.array_equal(snail.order.numpy(), make_order("zigzag", (1, 6, 5)))


def test_states_follow_the_current_pixel_while_stepping(qtbot):
    panel = _complete_panel(qtbot, PCNN)
    panel.count.setValue(1)
    panel.pause_button.setChecked(True)
    panel.start_completion()
    for _ in range(3):  # three single steps: pixels 0, 1, 2 in raster order
        with qtbot.waitSignal(panel.states_ready, timeout=60_000):
            panel._single_step()
    assert "pixel (0, 2)" in panel.states.title.text()
    m = next(m for m in panel.states.maps if m.name == "block_caches[0]")
    assert m.computed.sum() == 1 and m.kept.sum() == 2  # pixels 0 and 1 kept, pixel 2 computed
    panel.stop()


def test_samples_of_the_order_agnostic_model_follow_the_chosen_order(qtbot):
    from arstudio.sampling.orders import make_order

    panel = _samples_panel(qtbot, "deepnade-digits-binary")
    assert panel.order_box.isVisible() and panel.order_box.currentText() == "raster"
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        panel.order_box.setCurrentText("centre-out")
    run = panel.speed.meter.timing("cached")
    order = make_order("centre-out", (1, 8, 8))
    assert run.key[5] == tuple(order.tolist())
    model = load_checkpoint(DEEPNADE)
    model.set_order(torch.as_tensor(order))
    expect = model.sample(4, generator=torch.Generator().manual_seed(run.key[3]))
    assert np.array_equal(expect.numpy(), run.samples)
    other = _samples_panel(qtbot, "pixelcnn-digits")
    assert not other.order_box.isVisible()  # a fixed-order model: no choice offered
