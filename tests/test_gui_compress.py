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


def test_window_has_compress_and_anomaly_tabs_fed_by_the_canvas(qtbot, monkeypatch):
    """In the real window: open a model in the Complete tab, paint its canvas, and the Compress
    tab's "Compress the canvas" codes exactly that image (and painting on afterwards changes
    nothing in the file being made)."""
    from arstudio.gui.main_window import MainWindow
    from arstudio.gui.qt_samples import SamplesPanel
    from arstudio.paths import BUNDLED_MODELS

    monkeypatch.setattr(SamplesPanel, "start", lambda self: None)  # the first grid is test_gui_window's
    window = MainWindow()
    qtbot.addWidget(window)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Compress" in titles and "Anomaly" in titles
    window.state.set("checkpoint", BUNDLED_MODELS / "pixelcnn-digits.safetensors")
    canvas = window.complete.canvas
    assert canvas.values.shape == (1, 8, 8)
    canvas.set_image(np.zeros((1, 8, 8), np.int64))
    canvas.colour, canvas.brush, canvas.tool = (16,), 1, "brush"
    for r in range(1, 7):
        canvas._dab(r, 4)  # a painted stroke: a "1"
    painted = canvas.values.copy()
    assert painted.sum() == 6 * 16
    compress = window.compress
    compress.model_box.setCurrentIndex(compress.model_box.findData("pixelcnn-digits"))
    with qtbot.waitSignal(compress.rebuilt, timeout=120_000) as done:
        compress.canvas_button.click()
        canvas.values[:] = 0  # painting on while it codes
    assert done.args == [True]
    np.testing.assert_array_equal(compress.result["images"][0], painted)
    assert "the canvas" in compress.summary.text()
    window.complete.inspector.engine.close(wait=5)


def test_only_models_of_the_images_alone_are_offered(qtbot):
    """A map-conditioned model (p(x | where the digit is)) cannot code or score a bare image:
    neither Compress nor Anomaly lists it; the class-conditional one stays (the file keeps the class)."""
    from arstudio.gui.qt_anomaly import AnomalyPanel

    for panel in (CompressPanel(canvas_source=lambda: None), AnomalyPanel()):
        qtbot.addWidget(panel)
        keys = [panel.model_box.itemData(i) for i in range(panel.model_box.count())]
        assert "gated-pixelcnn-where-digits" not in keys
        assert "gated-pixelcnn-cond-mnist5k-binary" in keys and "pixelcnn-digits" in keys


def test_a_class_conditional_model_codes_each_image_under_its_class(qtbot):
    """gated-pixelcnn-cond-digits: test images keep their own class (in each .arz), the canvas
    needs one chosen in the class box, and both rebuild exactly."""
    from arstudio.codec.container import read_arz
    from arstudio.data import load_dataset

    key = "gated-pixelcnn-cond-digits"
    digits = load_dataset("digits")
    canvas = digits.test[20].numpy()
    panel = _panel(qtbot, key, canvas)
    assert panel.class_box.isEnabled() and panel.class_box.count() == 11 and panel.class_box.label() is None
    panel.count.setValue(3)
    with qtbot.waitSignal(panel.rebuilt, timeout=120_000) as done:
        panel.button.click()
    assert done.args == [True] and panel.identical
    want = digits.labels["test"][:3].numpy()
    np.testing.assert_array_equal(panel.result["labels"], want)
    assert [read_arz(b)[0].extras["label"] for b in panel.result["blobs"]] == list(want)
    assert "its class from the data set" in panel.summary.text()
    # the canvas: no class chosen is a message, not a coding under a made-up class
    with qtbot.waitSignal(panel.message, timeout=5_000) as msg:
        panel.canvas_button.click()
    assert "class box" in msg.args[0]
    label = int(digits.labels["test"][20])
    panel.class_box.setCurrentIndex(panel.class_box.findData(label))
    with qtbot.waitSignal(panel.rebuilt, timeout=120_000) as done:
        panel.canvas_button.click()
    assert done.args == [True]
    assert read_arz(panel.result["blobs"][0])[0].extras["label"] == label
    np.testing.assert_array_equal(panel.result["images"][0], canvas)


def test_compress_files_picked_in_the_dialog(qtbot, tmp_path, monkeypatch):
    """Files… opens a file dialog; the picked PNGs are coded and the first one rebuilt exactly."""
    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    from arstudio.data import load_dataset

    x = load_dataset("digits").test[30:32].numpy()
    paths = []
    for k, img in enumerate(x):
        p = tmp_path / f"d{k}.png"
        Image.fromarray(np.rint(img[0] * 255 / 16).astype(np.uint8)).save(p)
        paths.append(str(p))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: (paths, "")))
    panel = _panel(qtbot, "pixelcnn-digits")
    with qtbot.waitSignal(panel.rebuilt, timeout=120_000) as done:
        panel.files_button.click()
    assert done.args == [True] and panel.identical
    np.testing.assert_array_equal(panel.result["images"], x)
    assert panel.summary.text().startswith("d0.png, d1.png")
    assert len(panel.result["sizes"]["PNG"]) == 2
