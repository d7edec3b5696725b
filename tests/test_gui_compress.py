"""The Compress view, driven for real: a bundled model codes test images and the canvas;
the bars, the cost map and the decoder's check mark come from real coding."""
import numpy as np

from arstudio.gui.qt_compress import CompressPanel


def _panel(qtbot, key, canvas=None):
    panel = CompressPanel(canvas_source=(lambda: canvas))
    qtbot.addWidget(panel)
    panel.show()
    panel.model_box.setCurrentIndex(panel.model_box.findData(key))
    return panel


def test_compress_test_images_and_rebuild(qtbot):
    panel = _panel(qtbot, "pixelcnn-digits")
    panel.count.setValue(4)
    panel.first.setValue(10)
    with qtbot.waitSignal(panel.rebuilt, timeout=120_000) as done:
        panel.button.click()
    assert done.args == [True] and panel.identical and "✓" in panel.check.text()
    sizes = panel.result["sizes"]
    assert set(sizes) >= {"coded", ".arz", "PNG", "WebP"} and all(len(v) == 4 for v in sizes.values())
    assert (sizes[".arz"] < sizes["PNG"]).all()  # the model beats PNG on its own data
    assert (sizes["coded"] < sizes["WebP"]).all()
    assert (sizes["coded"] <= np.ceil(panel.result["nll_bytes"]) + 8).all()
    for name, item in panel._bar_items.items():
        assert np.array_equal(item.opts["height"], sizes[name])
    bits = panel.result["bits"][0]
    assert bits.shape == (1, 8, 8) and np.isclose(bits.sum() / 8, panel.result["nll_bytes"][0], rtol=1e-3)
    assert panel.cost_image.image is not None
    # the rebuilt image on screen is the test image
    shown = panel.rebuild_image.image
    assert shown.shape[:2] == (8, 8)
    np.testing.assert_array_equal(panel._partial, panel.result["images"][0])
    from arstudio.data import load_dataset

    np.testing.assert_array_equal(panel.result["images"], load_dataset("digits").test[10:14].numpy())


def test_compress_the_canvas(qtbot):
    rng = np.random.default_rng(0)
    canvas = rng.integers(0, 2, (1, 8, 8))
    panel = _panel(qtbot, "nade-digits-binary", canvas)
    with qtbot.waitSignal(panel.rebuilt, timeout=120_000):
        panel.canvas_button.click()
    assert panel.identical
    np.testing.assert_array_equal(panel.result["images"][0], canvas)
    assert "canvas" in panel.summary.text()


def test_canvas_of_the_wrong_shape_is_a_message(qtbot):
    panel = _panel(qtbot, "pixelcnn-digits", np.zeros((1, 28, 28), int))
    with qtbot.waitSignal(panel.message, timeout=5_000) as msg:
        panel.canvas_button.click()
    assert "canvas" in msg.args[0] and panel.result is None


def test_window_has_compress_and_anomaly_tabs_fed_by_the_canvas(qtbot):
    from arstudio.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Compress" in titles and "Anomaly" in titles
    assert window.compress.canvas_source() is window.complete.canvas.values


def test_only_models_of_the_images_alone_are_offered(qtbot):
    """A map-conditioned model (p(x | where the digit is)) cannot code or score a bare image:
    neither Compress nor Anomaly lists it; the class-conditional one stays (the file keeps the class)."""
    from arstudio.gui.qt_anomaly import AnomalyPanel

    for panel in (CompressPanel(canvas_source=lambda: None), AnomalyPanel()):
        qtbot.addWidget(panel)
        keys = [panel.model_box.itemData(i) for i in range(panel.model_box.count())]
        assert "gated-pixelcnn-where-digits" not in keys
        assert "gated-pixelcnn-cond-mnist5k-binary" in keys and "pixelcnn-digits" in keys
