"""Conditioning and order (issue 14) on the 8×8 bundles: the class-conditional Gated PixelCNN
on digits (the class picker in Samples and Complete), the MADE trained over several
orderings (every order of the order picker, the animation following it) and PixelSNAIL in
its zigzag order (shown as zigzag: the order view and the animation), driven with pytest-qt
against the real bundled models."""
import itertools

import numpy as np
import pytest
import torch
from test_gui_fastgen import _complete, _complete_panel, _samples_panel

from arstudio.checkpoint import load_checkpoint
from arstudio.paths import BUNDLED_MODELS
from arstudio.sampling.completion import complete
from arstudio.sampling.orders import ORDERS, make_order, rank_map

COND = BUNDLED_MODELS / "gated-pixelcnn-cond-digits.safetensors"  # 17 levels, 10 classes
MADE = BUNDLED_MODELS / "made-orders-digits-binary.safetensors"  # 8 masks, 8 orderings
SNAIL = BUNDLED_MODELS / "pixelsnail-zigzag-digits-binary.safetensors"  # odd rows right to left
SHAPE = (1, 8, 8)


def _record_frames(panel):
    """What the animation draws: (index just generated, pending map) of every frame shown."""
    seen, original = [], panel._show_frames

    def record(index, pending=None):
        if index is not None and index >= 0 and pending is not None:
            seen.append((int(index), np.asarray(pending).copy()))
        original(index, pending)

    panel._show_frames = record
    return seen


def _assert_animation_follows(seen, order):
    """Every frame shows exactly the pixels up to the current one in ``order`` generated."""
    ranks = rank_map(order, SHAPE).reshape(-1)
    assert len(seen) >= 3
    steps = [ranks[i] for i, _ in seen]
    assert steps == sorted(steps)
    for index, pending in seen:
        generated = ~pending.any(0).reshape(-1)
        assert np.array_equal(generated, ranks <= ranks[index]), (index, ranks[index])


def test_digits_conditional_model_draws_one_row_per_class_and_one_class(qtbot):
    from arstudio.gui.qt_samples import class_labels

    panel = _samples_panel(qtbot, "gated-pixelcnn-cond-digits")
    assert panel.classes.isVisible() and panel.classes.box.count() == 11  # "one row per class" + 10
    assert panel.classes.box.currentText() == "one row per class"
    cached = panel.speed.meter.timing("cached")
    labels, per = class_labels(10, panel.count.value(), None)
    assert per == 1 and cached.samples.shape == (10, 1, 8, 8)
    model = load_checkpoint(COND)
    expect = model.sample(10, generator=torch.Generator().manual_seed(cached.key[3]), label=labels)
    assert np.array_equal(expect.numpy(), cached.samples)  # row k is class k
    h, w, _ = panel.grid_array.shape
    assert h > 5 * w  # ten rows of one
    with qtbot.waitSignal(panel.samples_ready, timeout=60_000):
        panel.classes.box.setCurrentText("4")
    four = panel.speed.meter.timing("cached")
    expect = model.sample(4, generator=torch.Generator().manual_seed(four.key[3]), label=torch.full((4,), 4))
    assert four.key[4] == 4 and np.array_equal(expect.numpy(), four.samples)


def test_digits_conditional_model_completes_under_the_chosen_class(qtbot):
    from arstudio.inspect.conditionals import pixel_conditional

    panel = _complete_panel(qtbot, COND)
    assert panel.classes.isVisible() and panel.classes.box.count() == 10
    panel.classes.box.setCurrentText("6")
    panel.count.setValue(2)
    unknown = np.zeros((8, 8), bool)
    unknown[4:] = True  # the top half painted (blank), the bottom half drawn as a 6
    panel.canvas.set_image(np.zeros(SHAPE, np.int64), unknown)
    _complete(qtbot, panel)
    model = load_checkpoint(COND)
    known, mask = panel.canvas.known_and_mask()
    expect = complete(model, torch.as_tensor(known), torch.as_tensor(mask), 2, "raster",
                      generator=torch.Generator().manual_seed(panel._last_seed), label=torch.tensor(6))
    assert np.array_equal(expect.samples.numpy(), panel.results)
    with qtbot.waitSignal(panel.inspector.updated, timeout=60_000):
        panel._view_pixel(0, 5, 3)
    want = pixel_conditional(model, torch.as_tensor(panel.results[0]), 5 * 8 + 3, label=torch.tensor(6))
    assert np.allclose(panel.inspector.last["probs"], want.probs)


def test_order_picker_runs_every_order_on_the_made_trained_over_orderings(qtbot):
    panel = _complete_panel(qtbot, MADE)
    picker = panel.order_picker
    assert picker.agnostic and picker.box.isEnabled()
    assert [picker.box.itemText(k) for k in range(picker.box.count())] == list(ORDERS)
    panel.count.setValue(1)
    panel.speed.setValue(7)  # 100 px/s: the ~30 Hz timer sees about a third of the 64 steps
    model = load_checkpoint(MADE)
    assert model.config.masks > 1 and len({tuple(o.tolist()) for o in model.orders}) == model.config.masks
    own = model.order.clone()
    for name in ORDERS:
        if name == "painted":
            picker.paint_path([(7, 7), (7, 6), (6, 6), (5, 6), (5, 5)])  # the rest after, in raster order
        else:
            picker.box.setCurrentText(name)
        order = picker.order()
        if name != "painted":
            assert np.array_equal(order, make_order(name, SHAPE)), name
        assert np.array_equal(rank_map(picker.shown_order(), SHAPE), rank_map(order, SHAPE))  # the map
        seen = _record_frames(panel)
        lines, set_text = [], panel.progress.setText
        panel.progress.setText = lambda text, set_text=set_text: (lines.append(text), set_text(text))
        _complete(qtbot, panel)
        _assert_animation_follows(seen, order)
        phase = "raster" if name == "raster" else f"{name} order"  # the progress line names the order
        assert any(line.startswith(f"{phase}: step ") for line in lines), (name, lines[:3])
        del panel.progress.setText
        known, mask = panel.canvas.known_and_mask()
        expect = complete(model, torch.as_tensor(known), torch.as_tensor(mask), 1, "raster",
                          generator=torch.Generator().manual_seed(panel._last_seed), order=order)
        assert np.array_equal(expect.samples.numpy(), panel.results), name
        assert torch.equal(model.order, own)  # the model's own order is back afterwards
        del panel._show_frames


def test_samples_of_the_made_follow_the_chosen_order(qtbot):
    panel = _samples_panel(qtbot, "made-orders-digits-binary")
    assert panel.order_box.isVisible()
    with qtbot.waitSignal(panel.samples_ready, timeout=60_000):
        panel.order_box.setCurrentText("zigzag")
    run = panel.speed.meter.timing("cached")
    order = make_order("zigzag", SHAPE)
    assert run.key[5] == tuple(order.tolist())
    model = load_checkpoint(MADE)
    model.set_order(torch.as_tensor(order))
    expect = model.sample(4, generator=torch.Generator().manual_seed(run.key[3]))
    assert np.array_equal(expect.numpy(), run.samples)


def test_zigzag_pixelsnail_is_shown_generating_in_zigzag(qtbot):
    panel = _complete_panel(qtbot, SNAIL)
    picker = panel.order_picker
    zigzag = make_order("zigzag", SHAPE)
    model = load_checkpoint(SNAIL)
    assert model.config.ordering == "zigzag" and np.array_equal(model.order.numpy(), zigzag)
    # the order view: fixed (greyed), named zigzag, its map the zigzag steps
    assert not picker.agnostic and not picker.box.isEnabled() and picker.box.currentText() == "zigzag"
    assert "fixed order (zigzag)" in picker.note.text() and "odd rows right to left" in picker.note.text()
    assert picker.order() is None and np.array_equal(picker.shown_order(), zigzag)
    ranks = rank_map(zigzag, SHAPE)
    assert ranks[1].tolist() == list(range(15, 7, -1))  # row 1 right to left
    colours = picker.map.rgb[..., 0].astype(int)  # red grows with the step
    assert (np.diff(colours[1]) <= 0).all() and (np.diff(colours[0]) >= 0).all() and colours[1, 7] < colours[1, 0]
    # the animation walks the zigzag: row 1 is drawn from its right end
    panel.count.setValue(1)
    panel.speed.setValue(7)  # 100 px/s
    seen = _record_frames(panel)
    _complete(qtbot, panel)
    _assert_animation_follows(seen, zigzag)  # a frame in an odd row: the pixels right of it drawn
    odd = [i for i, _ in seen if i // 8 % 2 == 1]
    assert odd, [i for i, _ in seen]
    for a, b in itertools.pairwise(seen):
        if a[0] // 8 == b[0] // 8:  # two frames in one row: odd rows run right to left
            assert (a[0] > b[0]) == (a[0] // 8 % 2 == 1), (a[0], b[0])
    known, mask = panel.canvas.known_and_mask()
    expect = complete(model, torch.as_tensor(known), torch.as_tensor(mask), 1, "raster",
                      generator=torch.Generator().manual_seed(panel._last_seed))
    assert np.array_equal(expect.samples.numpy(), panel.results)


@pytest.mark.parametrize("key, order", [("made-orders-digits-binary", "raster"),
                                        ("pixelsnail-zigzag-digits-binary", "zigzag")])
def test_the_bundles_generate_in_the_order_they_say(key, order):
    from arstudio.sampling.orders import describe_order

    model = load_checkpoint(BUNDLED_MODELS / f"{key}.safetensors")
    assert describe_order(model.order.numpy(), SHAPE) == order
