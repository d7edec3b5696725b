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
