"""Data → Add dataset…, driven for real (pytest-qt, offscreen): a folder of PNGs the test
makes, with a damaged PNG and a text file in it, previewed live, added, remembered
across starts, listed in the picker with its counts, and trained on from the window."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from arstudio.gui.qt_add_dataset import AddDatasetDialog


def png_folder(root, n=20):
    folder = root / "my pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):  # 12×12 grey squares of varied brightness, some with a bar
        a = np.full((12, 12), 40 + 10 * i, dtype=np.uint8)
        a[:, i % 12] = 255
        a += rng.integers(0, 8, a.shape, dtype=np.uint8)
        Image.fromarray(a).save(folder / f"pic{i:02d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)
    (folder / "notes.txt").write_text("these are my pictures\n")
    return folder


def menu_action(window, text) -> QAction:
    for menu in window.menuBar().actions():
        for action in menu.menu().actions():
            if action.text() == text:
                return action
    raise AssertionError(f"no menu entry {text!r}")


def open_dialog(window, qtbot) -> AddDatasetDialog:
    menu_action(window, "&Add dataset…").trigger()
    dialog = window.findChild(AddDatasetDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def settle(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.loading(), timeout=20_000)


def test_add_a_png_folder_preview_it_and_train_on_it_from_the_window(window, qtbot, tmp_path):
    folder = png_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    picker, train = window.studio.picker, window.studio.train
    picker.select("pixelcnn", "digits-binary", preset="tiny")

    dialog = open_dialog(window, qtbot)
    dialog.set_kind("images")
    assert {"size", "fit", "colour", "levels", "binarize", "split", "seed"} <= set(dialog.form.editors)

    # an empty folder: one clear message, nothing to add
    qtbot.keyClicks(dialog.path, str(tmp_path / "empty"))
    settle(qtbot, dialog)
    assert dialog.error.isVisible() and "empty" in dialog.error.text()
    assert not dialog.add_button.isEnabled()

    dialog.path.setText(str(folder))
    dialog.form.set_value("size", "8x8")
    dialog.form.set_value("fit", "resize")
    dialog.form.set_value("colour", "grey")
    settle(qtbot, dialog)
    assert not dialog.error.isVisible(), dialog.error.text()
    assert "256-level image 1×8×8" in dialog.summary.text()
    assert "16 train / 2 val / 2 test" in dialog.summary.text()
    pix = dialog.picture.pixmap()
    assert not pix.isNull() and pix.width() > 8 * 8  # a grid of several scaled-up images
    skipped = [dialog.skipped.item(i).text() for i in range(dialog.skipped.count())]
    assert dialog.skipped.isVisible() and len(skipped) == 2
    assert any(s.startswith("broken.png: ") for s in skipped)
    assert "notes.txt: not an image Pillow can read" in skipped

    # live: a new option reloads the preview, and the grid shows what training will see
    before = dialog.picture.pixmap().toImage()
    dialog.form.set_value("levels", 2)
    assert not dialog.add_button.isEnabled()  # until the preview of these options is in
    settle(qtbot, dialog)
    assert "binary image 1×8×8" in dialog.summary.text()
    assert dialog.picture.pixmap().toImage() != before

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    ref = picker.dataset_name()
    assert ref.startswith(f"images:{folder}?") and "levels=2" in ref and "size=8x8" in ref
    assert "16 train / 2 val / 2 test" in picker.data.currentText()
    assert picker.dataset_spec().levels == 2 and picker.dataset_spec().shape == (1, 8, 8)

    # trained from the window to the end, on exactly the previewed data
    qtbot.waitUntil(lambda: picker.training_options is not None, timeout=20_000)
    train.set_train_settings({"steps": 4, "batch_size": 4, "snapshot_every": 4, "device": "cpu"})
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.ended_state is not None, timeout=90_000)
    assert train.ended_state == "done", train.banner.text()
    config = json.loads((train.follower.path / "config.json").read_text())
    assert config["dataset"] == ref
    done = next(e for e in train.follower.run.events()[0] if e["event"] == "done")
    assert done["step"] == 4 and np.isfinite(done["test_bpd"])

    # remembered across starts: a new window lists it, with its counts
    from arstudio.gui.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    again.studio.close_policy = "stop"
    again.picker.select("pixelcnn")
    i = again.picker.data.findData(ref)
    assert i >= 0 and "16 train / 2 val / 2 test" in again.picker.data.itemText(i)
    assert "the user's own images" in again.picker.data.itemData(i, Qt.ItemDataRole.ToolTipRole)


def test_other_kinds_preview_and_a_wholly_unreadable_folder(window, qtbot, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_text("text, not a picture")
    arrays = tmp_path / "seqs.npz"
    np.savez(arrays, x=np.random.default_rng(1).integers(0, 4, (30, 16)))
    text = tmp_path / "story.txt"
    text.write_text("Once upon a time there was a tiny autoregressive model. " * 40)

    dialog = open_dialog(window, qtbot)
    dialog.set_kind("images")
    dialog.path.setText(str(bad))
    settle(qtbot, dialog)
    assert "no readable image" in dialog.error.text() and "a.png" in dialog.error.text()

    dialog.set_kind("npz")
    assert {"key", "levels", "modality", "split", "seed"} <= set(dialog.form.editors)
    dialog.path.setText(str(arrays))
    settle(qtbot, dialog)
    assert not dialog.error.isVisible(), dialog.error.text()
    assert "4-level sequence 16" in dialog.summary.text() and not dialog.picture.pixmap().isNull()

    dialog.set_kind("text")
    dialog.path.setText(str(text))
    settle(qtbot, dialog)
    assert not dialog.error.isVisible(), dialog.error.text()
    assert dialog.text.isVisible() and "Once upon a time" in dialog.text.text()
    dialog.reject()
