"""Location conditioning (issue 14): paint where the digit should go in the Samples and
Complete tabs, and the bundled map-conditioned Gated PixelCNN draws it there. Driven with
pytest-qt (a real mouse drag on the paint area) against the real bundled model."""
import numpy as np
import torch
from PySide6.QtCore import Qt

from test_gui_layout import problems  # the layout test's check: every control inside, none cut

from arstudio.checkpoint import load_checkpoint
from arstudio.paths import BUNDLED_MODELS

KEY = "gated-pixelcnn-where-digits"
WHERE = BUNDLED_MODELS / f"{KEY}.safetensors"  # 16×16 binary, conditioned on a (1, 16, 16) map


def _drag(qtbot, picker, cells):
    """A real mouse stroke over the paint area through these (row, col) cells."""
    view = picker.map
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=view.cell_centre(*cells[0]))
    for cell in cells[1:]:
        qtbot.mouseMove(view, view.cell_centre(*cell))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=view.cell_centre(*cells[-1]))


def _box_stroke(r0, c0, r1, c1):
    """A serpentine through the box's cells two rows apart (the 3×3 brush fills between)."""
    cells = []
    for k, r in enumerate(list(range(r0, r1 + 1, 2)) + ([r1] if (r1 - r0) % 2 else [])):
        cols = range(c0, c1 + 1) if k % 2 == 0 else range(c1, c0 - 1, -1)
        cells += [(r, c) for c in cols]
    return cells


def _inside(samples, region):
    """Fraction of the samples' ink (value 1) inside ``region`` (H, W) bool, and ink per sample."""
    ink = np.asarray(samples)[:, 0] > 0  # (n, H, W)
    return ink[:, region].sum() / max(ink.sum(), 1), ink.sum() / len(ink)


def _centre(samples):
    """(row, col) of the samples' ink's centre of mass."""
    ink = (np.asarray(samples)[:, 0] > 0).sum(0).astype(float)  # (H, W) ink counts
    rows, cols = np.mgrid[0:ink.shape[0], 0:ink.shape[1]]
    return np.array([(rows * ink).sum(), (cols * ink).sum()]) / ink.sum()


def _paint_and_sample(qtbot, panel, box):
    picker = panel.location
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        picker.clear_button.click()  # a blank map: the next stroke alone says where
    assert not picker.location().any()
    blank = panel.speed.meter.timing("cached").samples
    assert _inside(blank, np.zeros((16, 16), bool))[1] < 2  # nothing painted: (almost) no digit
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        _drag(qtbot, picker, _box_stroke(*box))  # releasing the mouse samples again
    return picker.location()[0] > 0, panel.speed.meter.timing("cached")


def test_samples_appear_where_the_digit_is_painted(qtbot):
    from arstudio.gui.qt_samples import SamplesPanel

    panel = SamplesPanel()
    qtbot.addWidget(panel)
    panel.count.setValue(4)
    panel.resize(1280, 720)
    panel.show()
    row = next(i for i, m in enumerate(panel.models) if m.key == KEY)
    with qtbot.waitSignal(panel.samples_ready, timeout=120_000):
        panel.list.setCurrentRow(row)
    picker = panel.location
    assert picker.isVisible() and picker.location().shape == (1, 16, 16)
    assert not panel.classes.isVisible()  # conditioned on the map only
    qtbot.wait(30)
    assert not problems(panel, "Samples at 1280×720", panel)  # the paint area clips nothing
    model = load_checkpoint(WHERE)

    region, run = _paint_and_sample(qtbot, panel, (1, 1, 6, 6))  # the top-left corner
    assert region[:8, :8].all() and region.sum() == 64  # the brush painted exactly that 8×8 box
    seed = run.key[3]
    expect = model.sample(4, generator=torch.Generator().manual_seed(seed),
                          local=torch.as_tensor(region, dtype=torch.float32)[None, None])
    assert np.array_equal(expect.numpy(), run.samples)  # the grid is the model's, under that map
    inside, per = _inside(run.samples, region)
    assert inside >= 0.85 and per >= 8, (inside, per)  # digits, and their ink in the painted corner
    top_left = _centre(run.samples)

    region2, run2 = _paint_and_sample(qtbot, panel, (9, 9, 14, 14))  # the bottom-right corner
    assert region2[8:, 8:].all() and region2.sum() == 64
    inside2, per2 = _inside(run2.samples, region2)
    assert inside2 >= 0.85 and per2 >= 8, (inside2, per2)
    assert (_centre(run2.samples) - top_left >= 5).all()  # the ink moved with the region


def test_complete_draws_the_digit_where_it_is_painted(qtbot):
    from arstudio.gui.complete_tab import CompletePanel
    from arstudio.gui.state import StudioState
    from arstudio.inspect.conditionals import pixel_conditional
    from arstudio.sampling.completion import complete

    state = StudioState()
    panel = CompletePanel(state)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    with qtbot.waitSignal(panel.facts_ready, timeout=60_000):
        state.set("checkpoint", WHERE)
    panel.speed.setValue(panel.speed.maximum())  # no animation delay
    picker = panel.location
    assert picker.isVisible() and not panel.classes.isVisible()
    qtbot.wait(30)
    assert not problems(panel, "Complete at 1280×720", panel)
    picker.clear_button.click()
    _drag(qtbot, picker, _box_stroke(1, 9, 6, 14))  # the top-right corner
    region = picker.location()[0] > 0
    assert region[:8, 8:].all() and region.sum() == 64
    panel.count.setValue(4)
    panel.canvas.set_image(np.zeros((1, 16, 16), np.int64), np.ones((16, 16), bool))  # all unknown
    with qtbot.waitSignal(panel.completed, timeout=120_000):
        panel.start_completion()
    model = load_checkpoint(WHERE)
    local = torch.as_tensor(region, dtype=torch.float32)[None, None]
    known, mask = panel.canvas.known_and_mask()
    expect = complete(model, torch.as_tensor(known), torch.as_tensor(mask), 4, "raster",
                      generator=torch.Generator().manual_seed(panel._last_seed), local=local)
    assert np.array_equal(expect.samples.numpy(), panel.results)
    inside, per = _inside(panel.results, region)
    assert inside >= 0.85 and per >= 8, (inside, per)
    # the inspector conditions on the same painted map
    with qtbot.waitSignal(panel.inspector.updated, timeout=60_000):
        panel._view_pixel(0, 3, 11)
    want = pixel_conditional(model, torch.as_tensor(panel.results[0]), 3 * 16 + 11, local=local)
    assert np.allclose(panel.inspector.last["probs"], want.probs)


def test_inspect_growth_of_the_map_conditioned_model():
    """Inspect's receptive-field growth runs on it too (under the centred map): the output's
    field at the centre is the whole raster past, as for every Gated PixelCNN."""
    from arstudio.gui.qt_growth import growth_job

    r = growth_job(WHERE, None)
    assert r["pixel"] == (8, 8) and r["names"][-1] == "output"
    seen = r["fields"][-1] > 0  # (16, 16)
    past = np.arange(256).reshape(16, 16) < 8 * 16 + 8
    assert not seen[~past].any() and seen[past].mean() > 0.5


def test_command_line_samples_where_a_mask_image_says(tmp_path):
    """``arstudio sample KEY --where MASK.png``: the grid is the model's samples under that map."""
    from PIL import Image

    from arstudio.cli import main
    from arstudio.imaging import grid

    region = np.zeros((16, 16), bool)
    region[8:, :8] = True  # the bottom-left corner
    Image.fromarray(region.astype(np.uint8) * 255).save(tmp_path / "where.png")
    out = tmp_path / "s.png"
    assert main(["sample", KEY, "--n", "4", "--seed", "3", "--where", str(tmp_path / "where.png"),
                 "--out", str(out)]) == 0
    model = load_checkpoint(WHERE)
    x = model.sample(4, generator=torch.Generator().manual_seed(3),
                     local=torch.as_tensor(region, dtype=torch.float32)[None, None])
    with Image.open(out) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), grid(x, 2, scale=8))
    inside, per = _inside(x.numpy(), region)
    assert inside >= 0.85 and per >= 8, (inside, per)
