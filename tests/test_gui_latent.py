"""The Latent tab with the bundled VQ-VAE pairs: prior samples beside their code grids,
code-space completion code by code, and the code-grid inspector (real widgets, real
checkpoints; every view compared with the pair computed directly)."""
import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from arstudio.gui.latent_views import image_rgb
from arstudio.paths import BUNDLED_MODELS

PAIRS = ("pixelcnn-vqvae-mnist5k", "gated-pixelcnn-vqvae-shapes-colour", "vqvae-mnist5k", "vqvae-shapes-colour")
pytestmark = pytest.mark.skipif(not all((BUNDLED_MODELS / f"{k}.safetensors").is_file() for k in PAIRS),
                                reason="bundled VQ-VAE pairs not built")


def open_tab(qtbot, key, state=None):
    from arstudio.gui.latent_tab import LatentTab
    from arstudio.gui.state import StudioState
    from arstudio.models.registry import load_all

    load_all()
    tab = LatentTab(state or StudioState())
    qtbot.addWidget(tab)
    tab.resize(1100, 700)
    i = next(k for k in range(tab.choice.count()) if key in tab.choice.itemData(k))
    tab.choice.setCurrentIndex(i)  # before the first show: nothing loads yet
    with qtbot.waitSignal(tab.loaded, timeout=60_000):
        tab.show()
    assert tab.pair.prior.checkpoint_meta["dataset"].startswith("vqcodes:")
    return tab


def decoded_rgb(pair, codes):
    with torch.no_grad():
        x = pair.vqvae.decode_image(torch.as_tensor(codes).view(1, *pair.code_shape))[0]
    return image_rgb(x.numpy(), pair.spec.levels)


def step_and_wait(qtbot, panel, generated):
    """One Step while paused; wait until the views show ``generated`` codes."""
    panel.controls.step.click()
    def shown():
        grids = [v.grid for v in panel.views]
        return grids and all(g.pending.shape == panel.pair.code_shape and (~g.pending).sum() >= generated
                             for g in grids)

    qtbot.waitUntil(shown, timeout=20_000)


def test_prior_samples_beside_their_code_grids_code_by_code(qtbot):
    tab = open_tab(qtbot, "pixelcnn-vqvae-mnist5k")
    pair, view = tab.pair, tab.samples
    h, w = pair.code_shape
    view.count.setValue(3)
    view.controls.pause.setChecked(True)
    view.button.click()
    for k in (1, 2, 3):  # paused: each Step generates exactly one more code, in raster order
        step_and_wait(qtbot, view, k)
        for v in view.views:
            assert (~v.grid.pending).reshape(-1).tolist() == [True] * k + [False] * (h * w - k)
            assert v.grid.highlight == divmod(k - 1, w)
            assert (v.image.rgb == decoded_rgb(pair, v.grid.codes)).all()  # every step decoded
            assert v.image.overlay is not None  # the codes still to come are veiled
    view.controls.speed.setValue(0)
    with qtbot.waitSignal(view.finished, timeout=60_000):
        view.controls.pause.setChecked(False)
    assert view.frames >= 3
    expect = list(pair.sample_steps(3, generator=torch.Generator().manual_seed(1)))[-1]
    for i, v in enumerate(view.views):
        assert not v.grid.pending.any() and v.image.overlay is None
        assert (v.grid.codes == expect.codes[i].numpy()).all()  # the prior's own codes
        assert (v.image.rgb == image_rgb(expect.images[i].numpy(), pair.spec.levels)).all()
        assert (v.image.rgb == decoded_rgb(pair, v.grid.codes)).all()  # the image beside is its grid decoded
    chosen = view.views[1]
    qtbot.mouseClick(chosen.grid, Qt.MouseButton.LeftButton, pos=chosen.grid.cell_centre(0, 0))
    assert tab.views.currentWidget() is tab.codes  # a click sends the sample to the inspector
    assert (tab.codes.codes == chosen.grid.codes).all() and "prior sample" in tab.codes.source.text()


def test_completion_in_code_space_code_by_code(qtbot):
    tab = open_tab(qtbot, "pixelcnn-vqvae-mnist5k")
    pair, view, canvas = tab.pair, tab.complete, tab.canvas
    tab.views.setCurrentWidget(view)
    qtbot.waitExposed(canvas.canvas)
    canvas.example_button.click()  # a test image, every pixel known
    assert not canvas.canvas.unknown.any()
    assert "0 of 49 codes unknown" in view.codes_note.text()
    canvas.set_tool("brush")  # paint a white dot ...
    qtbot.mouseClick(canvas.canvas, Qt.MouseButton.LeftButton, pos=canvas.canvas.cell_centre(2, 2))
    assert canvas.canvas.values[0, 2, 2] == 255
    canvas.set_tool("unknown")  # ... and a stroke of unknown across the middle
    canvas.brush.setValue(3)
    c = canvas.canvas
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=c.cell_centre(13, 5))
    qtbot.mouseMove(c, c.cell_centre(13, 22))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=c.cell_centre(13, 22))
    known = ~c.unknown.copy()
    assert c.unknown[12:15, 4:24].all() and known.sum() == 28 * 28 - 3 * 20
    want_pending = ~pair.code_mask_for(torch.as_tensor(known)).numpy()
    assert want_pending.sum() == 5 and (view.codes_view.pending == want_pending).all()
    with torch.no_grad():
        canvas_codes = pair.vqvae.encode(torch.as_tensor(c.values).unsqueeze(0))[0].numpy()
    assert (view.codes_view.codes == canvas_codes).all()  # the painted image's own codes
    assert "5 of 49 codes unknown" in view.codes_note.text()
    image = c.values.copy()

    view.count.setValue(2)
    view.controls.pause.setChecked(True)
    view.button.click()
    order = np.flatnonzero(want_pending.reshape(-1))  # the unknown codes, in raster order
    for k in (1, 2):  # one Step = the next unknown code (known ones are not waited for)
        step_and_wait(qtbot, view, 49 - 5 + k)
        for v in view.views:
            still = v.grid.pending.reshape(-1)
            assert np.flatnonzero(still).tolist() == order[k:].tolist()
            assert v.grid.highlight == divmod(int(order[k - 1]), 7)
            assert (v.grid.codes[~want_pending] == canvas_codes[~want_pending]).all()
            assert (v.image.rgb[known] == image_rgb(image, 256)[known]).all()  # known pixels kept
    view.controls.speed.setValue(0)
    with qtbot.waitSignal(view.completed, timeout=60_000):
        view.controls.pause.setChecked(False)
    expect = list(pair.complete_steps(torch.as_tensor(image), torch.as_tensor(known), 2,
                                      generator=torch.Generator().manual_seed(1)))[-1]
    for i, v in enumerate(view.views):
        assert not v.grid.pending.any()
        assert (v.grid.codes == expect.codes[i].numpy()).all()
        decoded = decoded_rgb(pair, v.grid.codes)
        shown = np.where(known[..., None], image_rgb(image, 256), decoded)
        assert (v.image.rgb == shown).all()  # the decoder's image, painted pixels kept


def test_code_grid_inspector_click_a_code(qtbot):
    from arstudio.gui.state import StudioState

    state = StudioState()
    tab = open_tab(qtbot, "gated-pixelcnn-vqvae-shapes-colour", state)
    pair, view = tab.pair, tab.codes
    tab.views.setCurrentWidget(view)
    qtbot.waitExposed(view.grid)
    view.test_number.setValue(3)
    image = tab.codes.test[3]
    codes = pair.vqvae.encode(image.long().unsqueeze(0))[0]
    assert (view.codes == codes.numpy()).all()
    assert pair.code_shape == (8, 8)  # 8x8 codes, each over 2x2 pixels of the 16x16 image
    qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=view.grid.cell_centre(2, 1))
    assert view.index == 17 and view.grid.highlight == (2, 1)
    p = pair.code_conditional(codes, 17).numpy()
    assert np.allclose(view.probs, p, atol=1e-6) and np.allclose(view.bars.opts["height"], p, atol=1e-6)
    listed = [int(view.top.item(i).text().split()[1].rstrip(":")) for i in range(view.top.count())]
    assert listed == np.argsort(-p, kind="stable")[:8].tolist()  # the likeliest codes, best first
    actual = int(codes[2, 1])
    assert all(("←" in view.top.item(i).text()) == (code == actual) for i, code in enumerate(listed))
    assert view.top.item(0).icon().availableSizes()  # each listed code shows its pixels decoded in place
    for j in listed[:2]:
        grid = codes.clone()
        grid[2, 1] = j
        with torch.no_grad():
            x = pair.vqvae.decode_image(grid.unsqueeze(0))[0, :, 2:8, 0:6]  # the code's pixels, a margin
        assert (view.patches[j] == image_rgb(x.numpy(), pair.spec.levels)).all()
    assert view.picture.region == pair.code_region(17) == (slice(4, 6), slice(2, 4))
    assert (view.entry.rgb == image_rgb(pair.decode_entry(actual).numpy(), pair.spec.levels)).all()
    assert f"= {actual}: p = {p[actual]:.3f}" in view.title.text()
    qtbot.mouseClick(view.picture, Qt.MouseButton.LeftButton, pos=view.picture.cell_centre(13, 2))
    assert view.index == 49 and view.picture.region == (slice(12, 14), slice(2, 4))  # the code over a pixel

    other = next(k for k in range(tab.choice.count()) if "mnist5k" in tab.choice.itemData(k))
    with qtbot.waitSignal(tab.loaded, timeout=60_000):
        state.set("checkpoint", tab.choice.itemData(other))  # picking the prior elsewhere follows here
    assert tab.choice.currentIndex() == other and tab.pair.code_shape == (7, 7)
    assert view.codes.shape == (7, 7)
