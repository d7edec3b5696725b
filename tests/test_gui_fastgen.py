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
