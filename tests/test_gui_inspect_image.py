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
    channel by channel, straight through the model's modules (no hooks, no probe)."""
    s = (x.float() * (2.0 / (model.spec.levels - 1)) - 1.0).unsqueeze(0).requires_grad_(True)
    with torch.enable_grad():
        out = run(s)[0, :, r, c]
        # row ch of the identity picks channel ch: all rows in one batched backward pass
        jac = torch.autograd.grad(out, s, torch.eye(len(out)), is_grads_batched=True)[0]
    return (jac.abs().sum((0, 1, 2)) > 0).numpy()  # (channels, 1, C, H, W) -> (H, W)


@pytest.fixture
def growth(qtbot):
    from arstudio.gui.qt_growth import GrowthPanel

    panel = GrowthPanel()  # not shown yet: it computes once, when shown
    qtbot.addWidget(panel)
    panel.resize(900, 560)
    return panel


def show_growth(qtbot, panel):
    with qtbot.waitSignal(panel.updated, timeout=60000):
        panel.show()


def test_receptive_field_growth_side_by_side_equals_autograd(qtbot, growth):
    """PixelCNN next to Gated PixelCNN at one clicked pixel: every depth the slider shows is
    the support of autograd's Jacobian of that layer's output; PixelCNN's output has the
    blind spot above-right, Gated PixelCNN's sees those pixels."""
    assert growth.pairs.currentData() == ("pixelcnn-mnist5k-binary", "gated-pixelcnn-mnist5k-binary")
    r, c = 12, 9
    growth.columns[0].view.pixel_clicked.emit(r, c)  # a click on the left image
    show_growth(qtbot, growth)
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
        if k in (0, 2):  # the mask-A layer and block 2, against autograd channel by channel
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
    k = 1  # layer 2
    growth.depth.setValue(round(100 * k / (len(right_names) - 1)))

    def gated_run(s):
        v, h = s, s
        for layer in gated.layers[: k + 1]:
            v, h, _ = layer(v, h, None)
        return h
    assert right.caption.text().startswith("gated-pixelcnn · 2/")
    assert np.array_equal(shown_reach(right.view), jacobian_support(gated, gated_run, x, r, c))
    growth.depth.setValue(100)
    shot(growth, "inspect-growth")


def test_growth_animates_and_shows_the_row_lstm_triangle(qtbot, growth):
    growth.set_pair("pixelrnn-row-mnist5k-binary", "pixelrnn-diag-mnist5k-binary")
    show_growth(qtbot, growth)
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


def wait_panel(qtbot, panel, start, timeout=60000):
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel)
    with qtbot.waitSignal(panel.updated, timeout=timeout):
        start()


def test_conv_masks_are_the_layers_weights_zero_pattern(qtbot):
    """PixelCNN on colour shapes: mask A 7×7 with R→G→B at the centre, mask B 3×3; Gated
    PixelCNN: the vertical and horizontal stack kernels. Every card is what each layer it
    lists convolves with: a tap is drawn seen exactly where weight * mask is non-zero."""
    from arstudio.gui.qt_conv_masks import COLOURS, ConvMaskPanel
    from arstudio.nn import CausalConv2d

    for key in ("pixelcnn-shapes-colour", "gated-pixelcnn-mnist5k-binary"):
        panel = ConvMaskPanel()
        qtbot.addWidget(panel)
        path = bundled(key)
        wait_panel(qtbot, panel, lambda: panel.set_model(path))
        assert not panel.page.is_empty
        model = load_checkpoint(path)
        modules = dict(model.named_modules())
        listed = set()
        for card in panel.cards:
            for name in card.card["layers"]:
                layer = modules[name]
                assert isinstance(layer, CausalConv2d)
                listed.add(name)
                nz = (layer.weight.detach() * layer.mask) != 0  # (Cout, Cin, kh, kw)
                if card.kernel_view is not None:
                    codes, (cr, cc) = card.kernel_view.codes, card.card["centre"]
                    stored = codes[: layer.kh, cc - layer.anchor: cc - layer.anchor + layer.kw]
                    assert np.array_equal(stored != 0, nz.any(0).any(0).numpy()), name
                    assert (codes[layer.kh:] == -1).all() and cr == layer.kh - 1  # rows below: not stored
                if card.channel_view is not None:  # the R→G→B table at the output pixel
                    G = model.spec.shape[0]
                    og = torch.arange(layer.out_channels) * G // layer.out_channels
                    ig = torch.arange(layer.in_channels) * G // layer.in_channels
                    centre = nz[:, :, layer.kh - 1, layer.anchor]
                    want = np.array([[bool(centre[og == g][:, ig == j].any()) for j in range(G)]
                                     for g in range(G)])
                    assert np.array_equal(card.channel_view.codes.astype(bool), want), name
        kinds = {(c.card["mode"], c.card["kernel"]) for c in panel.cards}
        if key == "pixelcnn-shapes-colour":
            assert ("A", (4, 7)) in kinds and ("B", (2, 3)) in kinds
            a = next(c for c in panel.cards if c.card["mode"] == "A" and c.card["kernel"] == (4, 7))
            assert a.card["window"].shape == (7, 7)  # drawn as the paper's 7×7 square
            assert np.array_equal(a.channel_view.codes, np.tril(np.ones((3, 3)), -1))  # G<-R, B<-R,G
            assert "input" in listed
            # the painted kernel: the centre cell is orange (seen by channel group)
            image = a.kernel_view.grab().toImage()
            centre = a.kernel_view.cell_rect(3, 3).center()
            assert image.pixelColor(centre.x() + 4, centre.y() + 4) == COLOURS[2]
            shot(panel, "inspect-masks")
        else:
            assert {("above", (3, 5)), ("rows", (3, 5)), ("A", (1, 3)), ("B", (1, 3))} <= kinds
            assert {"layers.0.v", "layers.0.h", "layers.1.v", "layers.1.h"} <= listed


def test_attention_maps_are_the_softmax_the_layer_uses_and_sum_to_one(qtbot):
    from arstudio.gui.qt_attention import AttentionPanel

    panel = AttentionPanel()
    qtbot.addWidget(panel)
    path = bundled("pixelsnail-mnist5k-binary")
    wait_panel(qtbot, panel, lambda: panel.set_model(path))
    r, c = 11, 13
    with qtbot.waitSignal(panel.updated, timeout=60000):
        panel.image_view.pixel_clicked.emit(r, c)
    assert panel.result["pixel"] == (r, c) and panel.layer.count() == 4
    before = raster_before((28, 28), (r, c))
    model = load_checkpoint(path)
    x = torch.as_tensor(panel.result["image"]).unsqueeze(0)
    seen = {}
    attn = model.blocks[1][-1]
    hook = attn.register_forward_hook(lambda m, inp, out: seen.update(inp=inp, out=out))
    with torch.no_grad():
        model.log_prob(x)
    hook.remove()
    panel.layer.setCurrentIndex(1)
    maps = panel.shown_maps()
    assert [m[1] for m in maps] == [0, 1] and all(v.isVisible() for v in panel.head_views[:2])
    for layer, head, weights, extra, extra_name in maps:
        assert weights.sum() + extra == pytest.approx(1.0, abs=1e-5)  # over the visible pixels
        assert (weights[~before] == 0).all() and (weights[before] > 0).all()
        assert extra_name == "null entry"
    # the shown weights, applied to the layer's own values, give the layer's output at the pixel
    h, data, coords = seen["inp"]
    with torch.no_grad():
        feats = h.flatten(2).transpose(1, 2)
        _, v = attn.key_value(feats, data.flatten(2).transpose(1, 2), coords)
        _, nv = attn.null(1)
        heads = []
        for _, head, weights, extra, _ in maps:
            w = torch.cat([torch.tensor([extra]), torch.as_tensor(weights).flatten()])
            heads.append(w @ torch.cat([nv, v], 2)[0, head])
        mixed = attn.out(torch.cat(heads))
    p = r * 28 + c
    assert torch.allclose(h[0, :, r, c] + mixed, seen["out"][0, :, r, c], atol=1e-4)
    shot(panel, "inspect-attention")
    # the Image Transformer: a start token instead of the null entry
    path = bundled("image-transformer-mnist5k-binary")
    with qtbot.waitSignal(panel.updated, timeout=60000):
        panel.set_model(path)
    maps = panel.shown_maps()
    assert len(maps) == 4 and maps[0][4] == "start token"
    pr, pc = panel.result["pixel"]
    for *_, weights, extra, _ in maps:
        assert weights.sum() + extra == pytest.approx(1.0, abs=1e-5)
        assert (weights[~raster_before((28, 28), (pr, pc))] == 0).all()
    assert p > 0


def test_skew_view_steps_through_the_diagonals_the_lstm_computes(qtbot):
    """The Diagonal BiLSTM of the bundled model: the state at a pixel of step s depends only on
    pixels of steps <= s (autograd through its forward direction), and the view colours step
    s as the skewed map's column s, the image's diagonal r + c = s."""
    from arstudio.gui.qt_skew import DONE, NOW, SkewPanel

    model = load_checkpoint(bundled("pixelrnn-diag-mnist5k-binary"))
    panel = SkewPanel()
    qtbot.addWidget(panel)
    wait_panel(qtbot, panel, lambda: panel.set_shape(model.spec.shape))
    assert panel.skew_view.rgb.shape[:2] == (28, 55) and panel.step.maximum() == 54
    s = 20
    panel.step.setValue(s)
    img, sk = panel.image_view.rgb, panel.skew_view.rgb
    rows, cols = np.indices((28, 28))
    assert ((img == NOW).all(-1) == (rows + cols == s)).all()
    assert ((img == DONE).all(-1) == (rows + cols < s)).all()
    now_cols = np.nonzero((sk == NOW).all(-1).any(0))[0]
    assert list(now_cols) == [s] and (sk[:, s] == NOW).all(-1).sum() == 21
    # the model's own forward direction computes (r, c) from its left and upper neighbours only
    lstm = model.layers[0].forward_dir
    x = torch.randn(1, lstm.state_to_state.in_channels, 28, 28, requires_grad=True)
    r, c = 9, 11
    out = lstm(x)[0, :, r, c].sum()
    reach = (torch.autograd.grad(out, x)[0].abs().sum((0, 1)) > 0).numpy()
    step = panel.layout_.step
    assert (step[reach] <= step[r, c]).all() and reach[r, c - 1] and reach[r - 1, c]
    panel.backward.setChecked(True)  # the mirrored direction runs right to left
    img = panel.image_view.rgb
    assert ((img == NOW).all(-1) == (rows + (27 - cols) == s)).all()
    shot(panel, "inspect-skew")


def test_the_mixture_view_shows_pixelcnn_pp_components(qtbot):
    """The inspector's chart on PixelCNN++ (digits, 17 levels): one dashed curve per logistic
    component, π_m · P_m(level), computed here from the mixture's parameters by the logistic
    CDF; together they are the bars."""
    from arstudio.gui.qt_inspector import InspectorPanel

    path = bundled("pixelcnn++-digits")
    image = np.zeros((1, 8, 8), np.int64)
    image[0, 1:7, 3:5] = 12  # a stroke of a "1"
    image[0, 1, 2] = 16
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 700)
    panel.show()
    panel.set_model(path, 17, 1)
    panel.set_image(image)
    with qtbot.waitSignal(panel.updated, timeout=30000):
        panel.select_pixel(4, 3)
    shown = panel.shown_components()  # (M, K)
    assert shown.shape == (5, 17)
    assert np.allclose(shown.sum(0), panel.last["probs"], atol=1e-5)
    model = load_checkpoint(path)
    with torch.no_grad():
        one = model.conditionals(torch.as_tensor(image).unsqueeze(0)).at(4 * 8 + 3)
    pi = torch.softmax(one.mix_logits[0].double(), -1)
    mu, s = one.means[0].double(), one.log_scales[0].double().clamp(min=-7).exp()
    edges = torch.linspace(-1, 1, 17).double()[:, None] + torch.tensor([-1.0, 1.0]).double() / 16
    cdf = torch.sigmoid((edges[..., None] - mu) / s)  # (K, 2, M)
    cdf[0, 0], cdf[-1, 1] = 0.0, 1.0  # the end bins take the tails
    expected = (pi * (cdf[:, 1] - cdf[:, 0])).T.numpy()  # (M, K)
    assert np.allclose(shown, expected, atol=1e-5)
    assert "mixture of 5 discretized logistics" in panel.mixture.text()
    shot(panel, "inspect-mixture")


def test_every_image_page_says_what_to_do_when_it_does_not_apply(qtbot):
    from arstudio.gui.inspect_tab import InspectTab
    from arstudio.gui.state import StudioState

    state = StudioState()
    tab = InspectTab(state)
    qtbot.addWidget(tab)
    tab.resize(1000, 760)
    tab.show()
    qtbot.waitExposed(tab)
    assert "pick a model" in tab.note.text()
    with qtbot.waitSignal(tab.attention.updated, timeout=60000):
        state.set("checkpoint", bundled("pixelcnn-mnist5k-binary"))
    assert tab.pages.currentWidget() is tab.growth
    assert tab.timeline_page.is_empty and "1-D" in tab.timeline_page.text
    assert tab.attention.page.is_empty and "PixelSNAIL" in tab.attention.page.text
    qtbot.waitUntil(lambda: not tab.conv_masks.page.is_empty, timeout=60000)
    qtbot.waitUntil(lambda: "MADE" in tab.masks_page.text, timeout=60000)
    qtbot.waitUntil(lambda: all(col.result is not None for col in tab.growth.columns), timeout=60000)
    assert tab.growth.columns[0].path == str(bundled("pixelcnn-mnist5k-binary"))
    assert not tab.skew.page.is_empty
    tab.pages.setCurrentWidget(tab.growth)
    shot(tab, "inspect-tab")
    # an image model without layers to grow through (MADE): the column says what to pick
    with qtbot.waitSignal(tab.growth.updated, timeout=60000):
        state.set("checkpoint", bundled("made-digits-binary"))
    assert tab.growth.columns[0].page.is_empty and "names no layers" in tab.growth.columns[0].page.text
    with qtbot.waitSignal(tab.growth.updated, timeout=1000):  # back: computed already, no job
        state.set("checkpoint", bundled("pixelcnn-mnist5k-binary"))
    assert not tab.growth.columns[0].page.is_empty
    # a sequence model: the image pages say so
    state.set("checkpoint", bundled("wavenet-tones"))
    for page in (tab.conv_page, tab.attention_page, tab.skew.page):
        assert page.is_empty and "image" in page.text


def test_a_lesson_highlight_picks_the_pixel_of_the_image_pages(qtbot):
    from arstudio.gui.inspect_tab import InspectTab
    from arstudio.gui.state import StudioState

    tab = InspectTab(StudioState())
    qtbot.addWidget(tab)
    tab.lesson_highlight([3, 4])
    assert tab.growth.pixel == (3, 4) and tab.attention.pixel == (3, 4)
    assert tab.findChild(type(tab.growth.depth), "depth") is tab.growth.depth
