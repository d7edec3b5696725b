"""The Inspect tab's image views on real bundled models: receptive-field growth side by side,
the convolution masks, attention maps, the Diagonal BiLSTM's skew, the logistic mixture."""
import os

import numpy as np
import pytest
import torch

from arstudio.checkpoint import load_checkpoint
from arstudio.gui.pixelview import field_overlay
from arstudio.inspect.layers import raster_before
from arstudio.paths import BUNDLED_MODELS

SHOTS = os.environ.get("ARSTUDIO_SCREENSHOTS")  # a folder: write the README's screenshots there


def bundled(key):
    return BUNDLED_MODELS / f"{key}.safetensors"


def shot(widget, name):
    if SHOTS:
        widget.grab().save(os.path.join(SHOTS, f"{name}.png"))


def shown_reach(view) -> np.ndarray:
    """The pixels the view draws as reached (cyan in its overlay)."""
    ov = view.overlay
    return (ov[..., 0] == 0) & (ov[..., 1] == 200) & (ov[..., 2] == 255)


def jacobian_support(model, run, x, r, c) -> np.ndarray:
    """(H, W) bool: pixels with a non-zero derivative of any channel of run(scaled x)[0, :, r, c],
    one backward pass per channel, straight through the model's modules (no hooks, no probe)."""
    s = (x.float() * (2.0 / (model.spec.levels - 1)) - 1.0).unsqueeze(0).requires_grad_(True)
    with torch.enable_grad():
        out = run(s)[0, :, r, c]
        total = torch.zeros_like(s)
        for ch in range(out.shape[0]):
            total += torch.autograd.grad(out[ch], s, retain_graph=True)[0].abs()
    return (total[0].sum(0) > 0).numpy()


@pytest.fixture
def growth(qtbot):
    from arstudio.gui.qt_growth import GrowthPanel

    panel = GrowthPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 560)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_receptive_field_growth_side_by_side_equals_autograd(qtbot, growth):
    """PixelCNN next to Gated PixelCNN at one clicked pixel: every depth the slider shows is
    the support of autograd's Jacobian of that layer's output; PixelCNN's output has the
    blind spot above-right, Gated PixelCNN's sees those pixels."""
    with qtbot.waitSignal(growth.updated, timeout=60000):
        growth.set_pair("pixelcnn-mnist5k-binary", "gated-pixelcnn-mnist5k-binary")
    r, c = 12, 9
    with qtbot.waitSignal(growth.updated, timeout=60000):
        growth.columns[0].view.pixel_clicked.emit(r, c)  # a click on the left image
    left, right = growth.columns
    assert left.result["pixel"] == right.result["pixel"] == (r, c)
    pcnn, gated = load_checkpoint(bundled("pixelcnn-mnist5k-binary")), \
        load_checkpoint(bundled("gated-pixelcnn-mnist5k-binary"))
    x = torch.as_tensor(left.result["image"])
    n_left = len(left.result["names"])  # the input conv, 7 blocks, the output
    assert n_left == len(pcnn.blocks) + 2
    sizes = []
    for k in range(n_left):
        growth.depth.setValue(round(100 * k / (n_left - 1)))
        shown = shown_reach(left.view)
        sizes.append(int(shown.sum()))
        if k in (0, 3):  # the mask-A layer and block 3, against autograd channel by channel
            run = (lambda s: pcnn.input(s)) if k == 0 else (lambda s, k=k: pcnn.blocks[:k](pcnn.input(s)))
            assert np.array_equal(shown, jacobian_support(pcnn, run, x, r, c)), k
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # it grows layer by layer
    before = raster_before((28, 28), (r, c))
    growth.depth.setValue(100)
    out_left, out_right = shown_reach(left.view), shown_reach(right.view)
    assert out_left.sum() < before.sum() and not (out_left & ~before).any()  # the blind spot
    assert not out_left[r - 1, c + 5:].any()  # above-right of the pixel is blind
    # Gated PixelCNN: no blind spot; its cone (2 rows up and 2 columns left per layer) has no hole
    assert not (out_right & ~before).any()
    assert out_right[r - 1, c + 1: c + 6].all() and out_right[r - 3: r, c - 3: c + 4].all()
    assert out_right[r, : c].all() and out_right.sum() > out_left.sum()
    # a middle layer of the gated model against autograd through its own layer loop
    right_names = right.result["names"]
    growth.depth.setValue(round(100 * 2 / (len(right_names) - 1)))
    k = 2

    def gated_run(s):
        v, h = s, s
        for layer in gated.layers[: k + 1]:
            v, h, _ = layer(v, h, None)
        return h
    assert right.caption.text().startswith("gated-pixelcnn · 3/")
    assert np.array_equal(shown_reach(right.view), jacobian_support(gated, gated_run, x, r, c))
    shot(growth, "inspect-growth")


def test_growth_animates_and_shows_the_row_lstm_triangle(qtbot, growth):
    with qtbot.waitSignal(growth.updated, timeout=60000):
        growth.set_pair("pixelrnn-row-mnist5k-binary", "pixelrnn-diag-mnist5k-binary")
    growth.depth.setValue(100)
    r, c = growth.columns[0].result["pixel"]
    row, diag = shown_reach(growth.columns[0].view), shown_reach(growth.columns[1].view)
    before = raster_before((28, 28), (r, c))
    assert np.array_equal(diag, before)  # the Diagonal BiLSTM: the full context
    # the Row LSTM: a triangle above the pixel (its sides widen one column per row up)
    assert not (row & ~before).any() and row[0].all()
    assert not row[r - 1, : c - 8].any() and not row[r - 4, -3:].any() and row[r - 4, c - 4: c + 5].all()
    seen = set()
    growth.play.setChecked(True)
    qtbot.waitUntil(lambda: seen.add(growth.depth.value()) or len(seen) >= 3, timeout=10000)
    growth.play.setChecked(False)
    assert 0 in seen  # the animation started again from the first layer
