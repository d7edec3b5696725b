"""Where each attention head looks from the clicked pixel (PixelSNAIL, the Image Transformer).

Click a pixel of the test image: one map per head of the chosen attention layer,
the weights of the model's own pass (:func:`arstudio.inspect.attention.attention_maps`),
bright where the head attends; the weight on the null entry / start token is
in the caption. The work runs in a pool job; NumPy comes back.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from arstudio.gui.empty_state import fill_with_page
from arstudio.gui.layouts import titled
from arstudio.gui.pixelview import PixelView, levels_to_rgb
from arstudio.gui.workers import run_job


def attention_job(path, pixel) -> dict:
    import torch

    from arstudio.gui.inspect_models import with_model
    from arstudio.inspect.attention import attention_layers, attention_maps

    def work(model, example):
        if not attention_layers(model):
            return {"path": path, "none": True}
        _, H, W = model.spec.shape
        p = (H // 2, W // 2) if pixel is None else pixel
        maps = attention_maps(model, torch.as_tensor(example), p)
        return {"path": path, "pixel": p, "image": example, "levels": model.spec.levels or 2,
                "maps": [(a.layer, a.head, a.map, a.extra, a.extra_name) for a in maps]}

    return with_model(path, work)


def attention_overlay(weights: np.ndarray) -> np.ndarray:
    """(H, W) weights -> RGBA: dimmed where a head puts no weight, orange to yellow by weight."""
    v = np.sqrt(weights / (float(weights.max()) or 1.0))  # sqrt: small weights stay visible
    out = np.zeros((*weights.shape, 4), np.uint8)
    out[..., 3] = 190  # dimmed
    on = weights > 0
    out[on, 0] = 255
    out[on, 1] = (60 + 195 * v[on]).astype(np.uint8)
    out[on, 3] = (60 + 190 * v[on]).astype(np.uint8)
    return out


class AttentionPanel(QWidget):
    updated = Signal()
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path = None
        self.pixel = None
        self.result: dict | None = None
        self._serial = 0
        self.image_view = PixelView(min_cell=3)
        self.image_view.pixel_clicked.connect(self.select_pixel)
        self.layer = QComboBox()
        self.layer.setObjectName("attention_layer")
        self.layer.currentIndexChanged.connect(lambda _i: self._draw())
        self.caption = QLabel("click a pixel: each head's attention from it over the earlier pixels")
        self.caption.setWordWrap(True)
        self.heads = QGridLayout()
        self.head_views: list[PixelView] = []
        self.head_labels: list[QLabel] = []
        left = titled("the image (click a pixel)", self.image_view)
        right = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(QLabel("layer"))
        top.addWidget(self.layer, 1)
        right.addLayout(top)
        right.addLayout(self.heads, 1)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addLayout(right, 2)
        self.page = fill_with_page(self, [self.caption, (row, 1)],
                                   "pick an image model (Samples tab) or open a run; attention maps "
                                   "need PixelSNAIL or the Image Transformer")

    def set_model(self, path):
        self.path, self.pixel, self.result = path, None, None
        self.page.show_empty("reading the attention layers…")
        self._request()

    def select_pixel(self, row, col):
        self.pixel = (row, col)
        self._request()

    def _request(self):
        if self.path is None:
            return
        self._serial += 1
        run_job(attention_job, self.path, self.pixel,
                on_done=lambda res, s=self._serial: self._done(s, res),
                on_error=lambda t: self.page.show_empty(f"cannot read the attention: {t}"), owner=self)

    def _done(self, serial, result):
        if serial != self._serial or result["path"] != self.path:
            return
        if result.get("none"):
            self.page.show_empty("this model has no attention layers: attention maps are for "
                                 "PixelSNAIL and the Image Transformer (pick one in the Samples tab); "
                                 "its receptive fields are on the Receptive field page")
            self.updated.emit()
            return
        self.result = result
        layers = list(dict.fromkeys(m[0] for m in result["maps"]))
        if [self.layer.itemText(i) for i in range(self.layer.count())] != layers:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(layers)
            self.layer.blockSignals(False)
        self.image_view.set_rgb(levels_to_rgb(result["image"], result["levels"]))
        self.image_view.set_highlight(result["pixel"])
        self.page.show_content()
        self._draw()
        self.updated.emit()

    def shown_maps(self) -> list:
        """(layer, head, map, extra, extra_name) of the heads on screen."""
        if self.result is None:
            return []
        return [m for m in self.result["maps"] if m[0] == self.layer.currentText()]

    def _draw(self):
        maps = self.shown_maps()
        if not maps:
            return
        rgb = levels_to_rgb(self.result["image"], self.result["levels"])
        while len(self.head_views) < len(maps):
            view, label = PixelView(min_cell=2), QLabel(" ")
            view.pixel_clicked.connect(self.select_pixel)
            i = len(self.head_views)
            self.heads.addWidget(view, 2 * (i // 2), i % 2)
            self.heads.addWidget(label, 2 * (i // 2) + 1, i % 2)
            self.head_views.append(view)
            self.head_labels.append(label)
        for i, (view, label) in enumerate(zip(self.head_views, self.head_labels)):
            on = i < len(maps)
            view.setVisible(on)
            label.setVisible(on)
            if not on:
                continue
            _, head, weights, extra, extra_name = maps[i]
            view.set_rgb(rgb)
            view.set_overlay(attention_overlay(weights))
            view.set_highlight(self.result["pixel"])
            label.setText(f"head {head + 1}: {weights.sum():.3f} on pixels, {extra:.3f} on the {extra_name}")
        r, c = self.result["pixel"]
        self.caption.setText(f"attention from pixel ({r}, {c}) in {self.layer.currentText()}: bright where "
                             "a head looks (it may only look at earlier pixels)")
