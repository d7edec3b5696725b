"""The masked convolutions' masks, drawn as the papers draw them, read from the real layers.

One card per distinct mask (layers that share one are listed together): the
kernel window centred on the output pixel (red frame), each tap seen (blue),
masked (light grey), not stored (white, hatched: below or right of what the layer
allocates) or, at the output pixel of a colour model, seen by channel group
(orange); beside it the R→G→B table at the output pixel (row: output group,
column: input group; blue: that input group feeds that output group).
Everything comes from ``layer.masked_weight()`` (:mod:`arstudio.inspect.masks`).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from arstudio.gui.empty_state import fill_with_page
from arstudio.gui.workers import run_job

COLOURS = {1: QColor(70, 130, 220), 0: QColor(225, 225, 225), -1: QColor(255, 255, 255),
           2: QColor(245, 160, 40)}
GROUP_NAMES = ("R", "G", "B")


def masks_job(path) -> list[dict]:
    """Pool thread: the distinct masks of the checkpoint's masked convolutions."""
    from arstudio.gui.inspect_models import with_model
    from arstudio.inspect.masks import kernel_masks

    def work(model, _example):
        cards: dict = {}
        for km in kernel_masks(model):
            spatial = km.kernel != (1, 1)
            if not spatial and km.channels.shape == (1, 1):
                continue  # a 1×1 layer of a one-channel model: nothing to draw
            key = (km.mode, km.window.tobytes(), km.window.shape, km.channels.tobytes())
            card = cards.setdefault(key, {"mode": km.mode, "kernel": km.kernel, "window": km.window,
                                          "centre": km.centre, "channels": km.channels,
                                          "layers": [], "spatial": spatial})
            card["layers"].append(km.name)
        return list(cards.values())

    return with_model(path, work)


class MaskGrid(QWidget):
    """Cells painted from a code array; ``labels`` (rows, cols) name the table's axes."""

    def __init__(self, codes: np.ndarray, centre=None, labels=None, cell: int = 22, parent=None):
        super().__init__(parent)
        self.codes, self.centre, self.labels, self.cell = codes, centre, labels, cell
        self.margin = cell if labels else 2
        h, w = codes.shape
        self.setFixedSize(QSize(self.margin + w * cell + 2, self.margin + h * cell + 2))

    def cell_rect(self, r, c) -> QRect:
        return QRect(self.margin + c * self.cell, self.margin + r * self.cell, self.cell, self.cell)

    def paintEvent(self, _event):
        p = QPainter(self)
        h, w = self.codes.shape
        grid = QPen(QColor(150, 150, 150))
        for r in range(h):
            for c in range(w):
                code = int(self.codes[r, c])
                rect = self.cell_rect(r, c)
                p.fillRect(rect, COLOURS[code])
                if code == -1:
                    p.fillRect(rect, QBrush(QColor(200, 200, 200), Qt.BrushStyle.BDiagPattern))
                p.setPen(grid)
                p.drawRect(rect)
        if self.centre is not None:
            p.setPen(QPen(QColor(220, 30, 30), 3))
            p.drawRect(self.cell_rect(*self.centre).adjusted(1, 1, -1, -1))
        if self.labels:
            p.setPen(QColor(60, 60, 60))
            rows, cols = self.labels
            for r, name in enumerate(rows):
                p.drawText(QRect(0, self.margin + r * self.cell, self.margin, self.cell),
                           Qt.AlignmentFlag.AlignCenter, name)
            for c, name in enumerate(cols):
                p.drawText(QRect(self.margin + c * self.cell, 0, self.cell, self.margin),
                           Qt.AlignmentFlag.AlignCenter, name)
        p.end()


MODE_WORDS = {"A": "mask A: the output pixel itself hidden", "B": "mask B: the output pixel seen",
              "rows": "vertical stack: the rows up to the current one",
              "above": "vertical stack, first layer: strictly the rows above"}


class MaskCard(QFrame):
    def __init__(self, card: dict, parent=None):
        super().__init__(parent)
        self.card = card
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        kh, kw = card["kernel"]
        names = card["layers"]
        listed = ", ".join(names[:4]) + (f" … (+{len(names) - 4})" if len(names) > 4 else "")
        head = QLabel(f"<b>{kh}×{kw} · {MODE_WORDS.get(card['mode'], card['mode'])}</b><br>{listed}")
        head.setWordWrap(True)
        layout.addWidget(head)
        row = QGridLayout()
        self.kernel_view = None
        if card["spatial"]:
            self.kernel_view = MaskGrid(card["window"], card["centre"])
            row.addWidget(self.kernel_view, 0, 0, Qt.AlignmentFlag.AlignTop)
        G = card["channels"].shape[0]
        self.channel_view = None
        if G > 1:
            names = GROUP_NAMES[:G] if G <= 3 else tuple(str(g) for g in range(G))
            codes = card["channels"].astype(np.int8)
            self.channel_view = MaskGrid(codes, labels=(names, names))
            row.addWidget(self.channel_view, 0, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)


class ConvMaskPanel(QWidget):
    updated = Signal()
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path = None
        self.cards: list[MaskCard] = []
        self.legend = QLabel("blue: seen · grey: masked · hatched: not stored (masked by construction) · "
                             "orange: seen by channel group · red frame: the output pixel · "
                             "R/G/B table at the output pixel: row = output group, column = input group")
        self.legend.setWordWrap(True)
        self.holder = QWidget()
        self.grid = QGridLayout(self.holder)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.holder)
        self.page = fill_with_page(self, [self.legend, (scroll, 1)],
                                   "pick an image model (Samples tab) or open a run to see its "
                                   "convolution masks")

    def set_model(self, path):
        self.path = path
        self.page.show_empty("reading the masks from the layers…")
        run_job(masks_job, path, on_done=lambda cards, p=path: self._show(p, cards),
                on_error=lambda t: self.page.show_empty(f"cannot read the masks: {t}"), owner=self)

    def _show(self, path, cards):
        if path != self.path:
            return
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = [MaskCard(c) for c in cards]
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // 3, i % 3, Qt.AlignmentFlag.AlignTop)
        if self.cards:
            self.page.show_content()
        else:
            self.page.show_empty("this model has no masked convolutions: PixelCNN, Gated PixelCNN, "
                                 "the PixelRNNs, PixelSNAIL and PixelCNN++ do (pick one in the Samples "
                                 "tab); MADE's masks are on the Masks page")
        self.updated.emit()
