"""Receptive-field growth, layer by layer, for two image models side by side.

Click a pixel (in either view): each model's layers are differentiated at that
pixel (:func:`arstudio.inspect.layers.layer_fields`, autograd on the model's own
pass over a test image) and the depth slider walks from the first layer to the
output, with Play animating it. Both columns show the same pixel and the same
fraction of their depth, so PixelCNN's blind spot stands next to Gated
PixelCNN's full context, and the Row LSTM's triangle next to the Diagonal
BiLSTM and PixelSNAIL. The work runs in a pool job; NumPy comes back.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QVBoxLayout, QWidget)

from arstudio.gui.empty_state import EmptyOr, fill_with_page
from arstudio.gui.pixelview import PixelView, field_overlay, levels_to_rgb
from arstudio.gui.workers import run_job

# pairs a lecture shows side by side: bundled keys
PAIRS = (("pixelcnn-mnist5k-binary", "gated-pixelcnn-mnist5k-binary"),
         ("pixelrnn-row-mnist5k-binary", "pixelrnn-diag-mnist5k-binary"),
         ("pixelrnn-row-mnist5k-binary", "pixelsnail-mnist5k-binary"),
         ("pixelsnail-mnist5k-binary", "image-transformer-mnist5k-binary"))


def growth_job(path, pixel: tuple[int, int] | None) -> dict:
    """Pool thread: every layer's receptive field at ``pixel`` (None: the centre) of ``path``."""
    import torch

    from arstudio.gui.inspect_models import with_model
    from arstudio.inspect.layers import layer_fields
    from arstudio.sampling.conditioning import conditioning

    def work(model, example):
        if not model.feature_layers():
            return {"path": path, "none": True, "model": model.registry_name}
        _, H, W = model.spec.shape
        p = (H // 2, W // 2) if pixel is None else (min(pixel[0], H - 1), min(pixel[1], W - 1))
        # a conditional model under class 0 / the centred map (the fields' shape does not depend on it)
        fields = layer_fields(model, torch.as_tensor(example), p, **conditioning(model))
        return {"path": path, "pixel": p, "names": [f.name for f in fields],
                "fields": np.stack([f.field for f in fields]), "image": example,
                "levels": model.spec.levels or 2, "model": model.registry_name}

    return with_model(path, work)


class GrowthColumn(QWidget):
    """One model: a picker, the image with the field of the chosen depth, a caption."""

    pixel_clicked = Signal(int, int)
    picked = Signal()

    def __init__(self, models, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self.picker = QComboBox()
        for b in models:
            self.picker.addItem(b.key, str(b.path))
        self.picker.currentIndexChanged.connect(lambda _i: self.picked.emit())
        self.view = PixelView(min_cell=3)
        self.view.pixel_clicked.connect(self.pixel_clicked)
        self.caption = QLabel(" ")
        self.caption.setWordWrap(True)
        self.page = EmptyOr(self.view, "computing…")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picker)
        layout.addWidget(self.page, 1)
        layout.addWidget(self.caption)

    @property
    def path(self) -> str | None:
        return self.picker.currentData()

    def choose(self, path) -> bool:
        i = self.picker.findData(str(path))
        if i < 0:
            return False
        self.picker.setCurrentIndex(i)
        return True

    def layer_count(self) -> int:
        return 0 if self.result is None else len(self.result["names"])

    def set_result(self, result: dict):
        self.result = result
        self.view.set_rgb(levels_to_rgb(result["image"], result["levels"]))
        self.view.set_highlight(result["pixel"])
        self.page.show_content()

    def show_depth(self, fraction: float) -> int:
        """Show the layer at ``fraction`` (0: the first, 1: the output); returns its index."""
        if self.result is None:
            return -1
        n = len(self.result["names"])
        k = int(round(fraction * (n - 1)))
        field = self.result["fields"][k]
        self.view.set_overlay(field_overlay(field))
        r, c = self.result["pixel"]
        self.caption.setText(f"{self.result['model']} · {k + 1}/{n}: {self.result['names'][k]} — "
                             f"{int((field > 0).sum())} pixels reach pixel ({r}, {c})")
        return k


class GrowthPanel(QWidget):
    updated = Signal()  # both columns hold the fields of the current pixel
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        from arstudio.gui.inspect_models import image_models

        models = image_models()
        self.keys = {b.key: str(b.path) for b in models}
        self.pixel: tuple[int, int] | None = None
        self._serial = 0
        self._pending = 0
        self._dirty = True
        self._cache: dict = {}  # (path, mtime, pixel) -> a job's result
        self.columns = [GrowthColumn(models), GrowthColumn(models)]
        self.pairs = QComboBox()
        self.pairs.addItem("pick two models, or a pair…", None)
        for a, b in PAIRS:
            if a in self.keys and b in self.keys:
                self.pairs.addItem(f"{a}  vs  {b}", (a, b))
        self.pairs.currentIndexChanged.connect(self._pair_chosen)
        self.depth = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.depth.setValue(100)
        self.depth.setObjectName("depth")  # lessons set these by name
        self.pairs.setObjectName("pair")
        self.depth.valueChanged.connect(self._show_depth)
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._play_toggled)
        self.play.setObjectName("growth_play")
        self.timer = QTimer(self, interval=600)
        self.timer.timeout.connect(self._advance)
        self.hint = QLabel("click a pixel in either image; the slider goes from the first layer to the "
                           "output (cyan: pixels whose value reaches that layer's output at the yellow pixel)")
        self.hint.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("side by side:"))
        top.addWidget(self.pairs, 1)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("depth"))
        controls.addWidget(self.depth, 1)
        controls.addWidget(self.play)
        grid = QGridLayout()
        for i, col in enumerate(self.columns):
            grid.addWidget(col, 0, i)
            col.pixel_clicked.connect(self.select_pixel)
            col.picked.connect(self._request)
        self.page = fill_with_page(self, [top, self.hint, (grid, 1), controls],
                                   "no bundled image model found: train one (Train tab) or open a run "
                                   "of an image model (File → Open run)")
        if models:
            self.page.show_content()
            first = next((i for i in range(1, self.pairs.count())), None)
            if first is not None:
                self.pairs.setCurrentIndex(first)
        else:
            self.page.show_empty(self.page.text)

    # --- inputs --------------------------------------------------------------------------------
    def set_model(self, path):
        """The studio's image model goes in the left column (a run's checkpoint joins the pickers)."""
        for col in self.columns:
            if col.picker.findData(str(path)) < 0:
                col.picker.addItem(Path(path).stem, str(path))
        self.page.show_content()
        self.columns[0].picker.blockSignals(True)
        self.columns[0].choose(path)
        self.columns[0].picker.blockSignals(False)
        self._request()

    def set_pair(self, left_key: str, right_key: str):
        for col, key in zip(self.columns, (left_key, right_key)):
            col.picker.blockSignals(True)
            col.choose(self.keys[key])
            col.picker.blockSignals(False)
        self._request()

    def _pair_chosen(self, _i):
        pair = self.pairs.currentData()
        if pair:
            self.set_pair(*pair)

    def select_pixel(self, row: int, col: int):
        self.pixel = (row, col)
        self._request()

    def _request(self):
        if not self.isVisible():  # work only while on screen; showEvent catches up
            self._dirty = True
            return
        self._dirty = False
        self._serial += 1
        serial = self._serial
        self._pending = sum(col.path is not None for col in self.columns)
        for i, col in enumerate(self.columns):
            if col.path is None:
                continue
            key = self._key(col.path)
            if key in self._cache:  # the same checkpoint at the same pixel: already computed
                self._done(i, serial, self._cache[key])
                continue
            run_job(growth_job, col.path, self.pixel,
                    on_done=lambda res, i=i, s=serial, k=key: self._done(i, s, res, k),
                    on_error=lambda text, i=i, s=serial: self._failed(i, s, text), owner=self)

    def _key(self, path):
        try:
            stamp = Path(path).stat().st_mtime_ns  # a run's checkpoint is rewritten as it trains
        except OSError:
            stamp = None
        return (str(path), stamp, self.pixel)

    # --- output --------------------------------------------------------------------------------
    def _done(self, i, serial, result, key=None):
        if key is not None:
            if len(self._cache) >= 16:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = result
        if serial != self._serial:
            return  # an older pixel
        col = self.columns[i]
        if result.get("none"):
            col.result = None
            col.page.show_empty(f"{result['model']} names no layers to grow a receptive field "
                                "through (an image model of the PixelCNN, PixelRNN or attention "
                                "families does): pick one above")
        else:
            col.set_result(result)
            col.show_depth(self.depth.value() / 100)
        self._finish_one()

    def _failed(self, i, serial, text):
        if serial != self._serial:
            return
        self.columns[i].page.show_empty(f"cannot draw this model's receptive fields: {text}\n"
                                        "pick another image model above")
        self.message.emit(text)
        self._finish_one()

    def _finish_one(self):
        self._pending -= 1
        if self._pending == 0:
            self.updated.emit()

    def _show_depth(self, value):
        for col in self.columns:
            col.show_depth(value / 100)

    def _play_toggled(self, on):
        self.play.setText("Pause" if on else "Play")
        if on:
            if self.depth.value() >= 100:
                self.depth.setValue(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _advance(self):
        n = max(col.layer_count() for col in self.columns) or 2
        step = max(1, round(100 / (n - 1)))
        self.depth.setValue(0 if self.depth.value() >= 100 else min(100, self.depth.value() + step))

    def showEvent(self, event):
        super().showEvent(event)
        if self._dirty:
            self._request()

    def hideEvent(self, event):
        self.play.setChecked(False)
        super().hideEvent(event)
