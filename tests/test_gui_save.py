"""File → Save image… and Save animation… in the real window (pytest-qt, offscreen), each
file read back: PNG text chunks (model, data, seed, bits/dim), GIF/APNG frame counts and
frame rate; nothing to save is a message, never an exception."""
from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt


def on_tab(window, attr):
    window.tabs.setCurrentWidget(getattr(window, attr))


def choose_bundled(samples, key):
    samples.list.setCurrentRow(next(i for i, m in enumerate(samples.models) if m.key == key))


def saved(qtbot, saver, start) -> Image.Image:
    with qtbot.waitSignal(saver.saved, timeout=60_000) as got:
        assert start(), saver.window.statusBar().currentMessage()
    return Image.open(got.args[0])


def failed(qtbot, saver, start) -> str:
    with qtbot.waitSignal(saver.failed, timeout=10_000) as got:
        start()
    return got.args[0]


def test_save_image_and_animation_from_the_samples_and_complete_tabs(window, qtbot, tmp_path):
    samples, complete, saver = window.samples, window.complete, window.saver
    qtbot.waitUntil(lambda: samples.grid_array is not None, timeout=60_000)
    samples.grid_array = None
    choose_bundled(samples, "made-digits-binary")
    qtbot.waitUntil(lambda: samples.grid_array is not None, timeout=60_000)
    model = samples.current()
    assert model.metadata["spec"]["modality"] == "image"
    bpd = model.metadata["metrics"]["test_bpd"]

    # Samples: the grid on screen, with where it came from
    on_tab(window, "samples")
    png = saved(qtbot, saver, lambda: saver.save_image(tmp_path / "grid.png"))
    assert np.array_equal(np.asarray(png.convert("RGB")), samples.grid_array)
    assert png.text["Model"] == model.model and png.text["Data"] == model.dataset
    assert png.text["Seed"] == str(samples._seed) and png.text["Bits per dim"] == f"{bpd:.4f}"

    # Samples: the sampling, pixel by pixel, as a GIF at 10 frames per second
    samples.count.setValue(4)
    c, h, w = model.metadata["spec"]["shape"]
    gif = saved(qtbot, saver, lambda: saver.save_animation(tmp_path / "sampling.gif", fps=10))
    assert gif.format == "GIF" and gif.n_frames == 1 + h * w + 1  # empty, one per pixel, the finished grid
    assert gif.info["duration"] == 100

    # Complete: the bottom half unknown, the fill as APNG; first the canvas, then the completions
    on_tab(window, "complete")
    assert complete.path == model.path
    known = np.zeros((c, h, w), np.int64)
    unknown = np.zeros((h, w), bool)
    unknown[h // 2:] = True
    complete.canvas.set_image(known, unknown)
    canvas_png = saved(qtbot, saver, lambda: saver.save_image(tmp_path / "canvas.png"))
    assert canvas_png.text["View"].startswith("canvas") and canvas_png.text["Model"] == model.model
    complete.count.setValue(2)
    apng = saved(qtbot, saver, lambda: saver.save_animation(tmp_path / "fill.png", fps=25))
    assert apng.format == "PNG" and apng.is_animated
    assert apng.n_frames == 1 + int(unknown.sum()) + 1 and apng.info["duration"] == 40
    assert apng.text["Method"] == "raster" and apng.text["Animation"] == "fill"
    assert apng.text["Unknown pixels"] == str(int(unknown.sum()))

    complete.speed.setValue(complete.speed.maximum())
    with qtbot.waitSignal(complete.completed, timeout=60_000):
        qtbot.mouseClick(complete.complete_button, Qt.MouseButton.LeftButton)
    done = saved(qtbot, saver, lambda: saver.save_image(tmp_path / "completions.png"))
    assert done.text["View"] == "completions" and done.text["Seed"] == str(complete._seed)
    assert done.text["Bits per dim"] == f"{bpd:.4f}"


def test_other_views_save_as_drawn_and_impossible_saves_are_messages(window, qtbot, tmp_path):
    saver = window.saver
    on_tab(window, "compare")
    png = saved(qtbot, saver, lambda: saver.save_image(tmp_path / "compare.png"))
    view = window.compare
    assert png.text["View"] == "Compare" and png.size == (view.width(), view.height())

    text = failed(qtbot, saver, lambda: saver.save_animation(tmp_path / "x.gif"))
    assert "Complete tab" in text and "not saved" in window.statusBar().currentMessage()
    assert "gif or .png" in failed(qtbot, saver, lambda: saver.save_animation(tmp_path / "x.mp4"))
    on_tab(window, "complete")
    if window.complete.path is not None:  # everything painted: nothing for the model to draw
        complete = window.complete
        complete.canvas.set_image(np.zeros(complete.spec.shape, np.int64))
        assert "nothing is unknown" in failed(qtbot, saver, lambda: saver.save_animation(tmp_path / "x.gif"))
    on_tab(window, "samples")
    choose_bundled(window.samples, "gated-pixelcnn-vqvae-shapes-colour")  # a prior over codes, decoded
    assert "choose an image model" in failed(qtbot, saver, lambda: saver.save_animation(tmp_path / "x.gif"))
    assert not list(tmp_path.glob("x.*"))


def test_save_image_on_the_inspect_tab_saves_the_views_not_the_tab(window, qtbot, tmp_path):
    """The Inspect tab saves the page's own views: the sequence timeline with the conditional
    chart of the clicked step, the image with each model's receptive field; read back."""
    import torch

    import arstudio
    from arstudio.checkpoint import save_checkpoint
    from arstudio.gui.saving import tile_views, widget_rgb
    from arstudio.paths import BUNDLED_MODELS
    from arstudio.spec import DataSpec

    saver, inspect = window.saver, window.inspect
    on_tab(window, "inspect")
    assert "nothing inspected" in failed(qtbot, saver, lambda: saver.save_image(tmp_path / "none.png"))
    torch.manual_seed(0)
    wavenet = arstudio.build_model("wavenet", DataSpec((32,), levels=6, modality="sequence"), residual_channels=8,
                                   dilation_channels=8, skip_channels=8, layers_per_stack=3, stacks=1)
    ckpt = save_checkpoint(wavenet, tmp_path / "wavenet.safetensors")
    panel = inspect.sequence
    with qtbot.waitSignal(panel.updated, timeout=30_000):
        window.state.set("checkpoint", ckpt)
    with qtbot.waitSignal(panel.updated, timeout=30_000):
        panel.step.setValue(20)
    png = saved(qtbot, saver, lambda: saver.save_image(tmp_path / "timeline.png"))
    got = np.asarray(png.convert("RGB"))
    rows = [[panel.timeline], [panel.tree_plot], [panel.chart]]  # the tree shows for a WaveNet
    assert panel.tree_plot.isVisible()
    assert got.shape == tile_views(rows).shape  # the three views, not the buttons and the step box
    chart = widget_rgb(panel.chart)
    assert np.array_equal(got[-chart.shape[0]:, :chart.shape[1]], chart)  # the conditional chart of t = 20
    assert got.shape[0] * got.shape[1] < widget_rgb(inspect).shape[0] * widget_rgb(inspect).shape[1]
    assert png.text["View"] == "Inspect · Timeline" and png.text["Time step"] == "20"
    assert png.text["Model"] == "wavenet" and png.text["Conditional"].startswith("t = 20")

    # an image model: the receptive field page, both models' images with their fields
    growth = inspect.growth
    with qtbot.waitSignal(growth.updated, timeout=60_000):
        window.state.set("checkpoint", BUNDLED_MODELS / "pixelcnn-mnist5k-binary.safetensors")
    assert inspect.pages.currentWidget() is growth
    with qtbot.waitSignal(growth.updated, timeout=60_000):
        growth.select_pixel(9, 11)
    png = saved(qtbot, saver, lambda: saver.save_image(tmp_path / "field.png"))
    got = np.asarray(png.convert("RGB"))
    left, right = (widget_rgb(c.view) for c in growth.columns)
    assert got.shape == (max(left.shape[0], right.shape[0]), left.shape[1] + 6 + right.shape[1], 3)
    assert np.array_equal(got[:left.shape[0], :left.shape[1]], left)  # the image with its field, as drawn
    assert png.text["View"] == "Inspect · Receptive field" and png.text["Pixel"] == "(9, 11)"
    assert "reach pixel (9, 11)" in png.text["Field 1"] and "reach pixel (9, 11)" in png.text["Field 2"]
    assert png.text["Model"] == "pixelcnn" and png.text["Bits per dim"]
