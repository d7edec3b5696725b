"""The painting canvas: crisp zoomable pixels, brushes, an "unknown" brush, undo/redo.

``PaintCanvas`` is a :class:`~arstudio.gui.pixelview.PixelView` with an editable image: ``values`` (C, H, W)
integer levels and ``unknown`` (H, W) bool, the pixels a completion should
generate. ``CanvasPanel`` is the canvas with its tool bar.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.layouts import left_row
from arstudio.gui.pixelview import UNKNOWN_RGB, PixelView, levels_to_rgb

TOOLS = ("brush", "eraser", "unknown", "fill", "inspect")


class PaintCanvas(PixelView):
    """The editable image. ``changed`` fires after every stroke, fill, clear, undo or redo."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, min_cell=4)
        self.tool = "brush"
        self.brush = 1  # brush width in image pixels
        self.colour = (1,)  # the level painted in each channel
        self.values = np.zeros((1, 1, 1), np.int64)
        self.unknown = np.ones((1, 1), bool)
        self.levels = 2
        self.unseen: np.ndarray | None = None  # (H, W) painted pixels a raster completion never saw
        self._undo: list = []
        self._redo: list = []
        self._last: tuple[int, int] | None = None

    # --- the image --------------------------------------------------------------------------
    def set_shape(self, channels: int, height: int, width: int, levels: int):
        """A fresh canvas: everything unknown."""
        self.levels = levels
        self.colour = tuple([levels - 1] * channels)
        self.values = np.zeros((channels, height, width), np.int64)
        self.unknown = np.ones((height, width), bool)
        self._undo.clear()
        self._redo.clear()
        self._refresh()

    def set_image(self, values: np.ndarray, unknown: np.ndarray | None = None, undoable: bool = True):
        if undoable:
            self.push_undo()
        self.values = np.array(values, dtype=np.int64).reshape(self.values.shape)
        self.unknown = np.zeros(self.unknown.shape, bool) if unknown is None else np.array(unknown, bool)
        self._refresh()

    def known_and_mask(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, mask) in the data's (C, H, W) shape; mask true where painted."""
        mask = np.broadcast_to(~self.unknown, self.values.shape).copy()
        return np.where(mask, self.values, 0), mask

    def set_unseen(self, unseen: np.ndarray | None):
        self.unseen = unseen
        self._refresh()

    def _refresh(self):
        rgb = levels_to_rgb(self.values, self.levels)
        h, w = self.unknown.shape
        checker = ((np.arange(h)[:, None] + np.arange(w)[None]) % 2).astype(np.uint8)
        tint = np.array(UNKNOWN_RGB, np.uint8)[None, None] - checker[..., None] * 40
        rgb = np.where(self.unknown[..., None], tint, rgb)
        overlay = None
        if self.unseen is not None and self.unseen.any():
            overlay = np.zeros((h, w, 4), np.uint8)
            overlay[self.unseen] = (255, 140, 0, 150)  # orange: painted but unseen
        self.overlay = overlay
        self.set_rgb(rgb)
        self.changed.emit()

    # --- undo / redo ------------------------------------------------------------------------
    def push_undo(self):
        self._undo.append((self.values.copy(), self.unknown.copy()))
        del self._undo[:-100]
        self._redo.clear()

    def undo(self):
        if self._undo:
            self._redo.append((self.values.copy(), self.unknown.copy()))
            self.values, self.unknown = self._undo.pop()
            self._refresh()

    def redo(self):
        if self._redo:
            self._undo.append((self.values.copy(), self.unknown.copy()))
            self.values, self.unknown = self._redo.pop()
            self._refresh()

    def clear(self):
        """Everything unknown: the model draws the whole image around what is painted next."""
        self.push_undo()
        self.values[:] = 0
        self.unknown[:] = True
        self.unseen = None
        self._refresh()

    # --- painting -----------------------------------------------------------------------------
    def _dab(self, r: int, c: int):
        h, w = self.unknown.shape
        lo = (self.brush - 1) // 2
        rows = slice(max(0, r - lo), min(h, r - lo + self.brush))
        cols = slice(max(0, c - lo), min(w, c - lo + self.brush))
        if self.tool == "unknown":
            self.unknown[rows, cols] = True
        else:
            colour = (0,) * len(self.colour) if self.tool == "eraser" else self.colour
            self.values[:, rows, cols] = np.array(colour).reshape(-1, 1, 1)
            self.unknown[rows, cols] = False

    def _line(self, a, b):
        """Dab every cell on the segment a -> b so fast strokes stay connected."""
        steps = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
        for t in range(steps + 1):
            self._dab(round(a[0] + (b[0] - a[0]) * t / steps), round(a[1] + (b[1] - a[1]) * t / steps))

    def _flood(self, r: int, c: int):
        h, w = self.unknown.shape
        def key(i, j):  # unknown pixels are one region whatever value they hide
            return ("unknown",) if self.unknown[i, j] else tuple(self.values[:, i, j])

        target = key(r, c)
        seen = np.zeros((h, w), bool)
        queue = deque([(r, c)])
        seen[r, c] = True
        region = []
        while queue:
            i, j = queue.popleft()
            region.append((i, j))
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                if 0 <= a < h and 0 <= b < w and not seen[a, b] and key(a, b) == target:
                    seen[a, b] = True
                    queue.append((a, b))
        brush, self.brush = self.brush, 1
        tool, self.tool = self.tool, self.fill_with
        for i, j in region:
            self._dab(i, j)
        self.brush, self.tool = brush, tool

    fill_with = "brush"  # what the fill tool pours: "brush" (the colour) or "unknown"

    def mousePressEvent(self, event):
        cell = self.cell_at(event.position().toPoint())
        if cell is None:
            return
        if self.tool == "inspect" or event.button() == Qt.MouseButton.RightButton:
            self.pixel_clicked.emit(*cell)
            return
        self.push_undo()
        if self.tool == "fill":
            self._flood(*cell)
            self._refresh()
            return
        self._last = cell
        self._dab(*cell)
        self._refresh()

    def mouseMoveEvent(self, event):
        # our own stroke flag: synthetic test moves do not always carry the held buttons
        if self._last is None:
            return
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and cell != self._last:
            self._line(self._last, cell)
            self._last = cell
            self._refresh()

    def mouseReleaseEvent(self, event):
        self._last = None


class CanvasPanel(QWidget):
    """The canvas with its tools: brush size, level or colour, eraser, unknown, fill, clear, undo, zoom."""

    load_example_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = PaintCanvas()
        self.tool_buttons: dict[str, QToolButton] = {}
        group = QButtonGroup(self)
        tools = QHBoxLayout()
        tips = {"brush": "paint the chosen level or colour", "eraser": "paint the background (level 0)",
                "unknown": "mark pixels for the model to generate", "fill": "flood-fill a region",
                "inspect": "click a pixel to see its conditional"}
        for name in TOOLS:
            b = QToolButton(text=name.capitalize(), checkable=True, toolTip=tips[name])
            b.clicked.connect(lambda _=False, n=name: self.set_tool(n))
            group.addButton(b)
            tools.addWidget(b)
            self.tool_buttons[name] = b
        self.tool_buttons["brush"].setChecked(True)
        tools.addStretch(1)

        self.brush = QSpinBox(minimum=1, maximum=9, value=1, prefix="brush ", toolTip="brush width in pixels")
        self.brush.valueChanged.connect(lambda v: setattr(self.canvas, "brush", v))
        self.level = QSpinBox(minimum=0, maximum=1, value=1, prefix="level ")
        self.level.valueChanged.connect(self._level_changed)
        self.colour_button = QPushButton("Colour…")
        self.colour_button.clicked.connect(self._pick_colour)
        self.zoom = QSpinBox(minimum=0, maximum=64, value=0, prefix="zoom ", specialValueText="zoom fit",
                             toolTip="screen pixels per image pixel (0 fits the window)")
        self.zoom.valueChanged.connect(self.canvas.set_zoom)
        self.canvas.zoom_changed.connect(self.zoom.setValue)
        self.swatch = QLabel()
        self.swatch.setFixedSize(22, 22)
        settings = left_row(self.brush, self.level, self.colour_button, self.swatch, self.zoom)

        actions = QHBoxLayout()
        self.clear_button = QPushButton("Clear", toolTip="make every pixel unknown")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.fill_unknown = QPushButton("Fill unknown", checkable=True,
                                        toolTip="the fill tool pours 'unknown' instead of the colour")
        self.fill_unknown.toggled.connect(lambda on: setattr(self.canvas, "fill_with", "unknown" if on else "brush"))
        self.undo_button = QPushButton("Undo", shortcut="Ctrl+Z")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button = QPushButton("Redo", shortcut="Ctrl+Shift+Z")
        self.redo_button.clicked.connect(self.canvas.redo)
        self.example_button = QPushButton("Load example", toolTip="a random test image of the model's dataset")
        self.example_button.clicked.connect(self.load_example_requested)
        for w in (self.clear_button, self.fill_unknown, self.example_button):
            actions.addWidget(w)
        actions.addStretch(1)
        # a row of its own: the panel stays narrow enough for 1280 px
        history = left_row(self.undo_button, self.redo_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addLayout(settings)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(actions)
        layout.addLayout(history)

    def set_tool(self, name: str):
        self.canvas.tool = name
        self.tool_buttons[name].setChecked(True)

    def set_shape(self, channels: int, height: int, width: int, levels: int):
        self.canvas.set_shape(channels, height, width, levels)
        self.level.setMaximum(levels - 1)
        self.level.setValue(levels - 1)
        self.level.setVisible(channels == 1)
        self.colour_button.setVisible(channels > 1)
        self._show_swatch()

    def _level_changed(self, v: int):
        self.canvas.colour = tuple([v] * self.canvas.values.shape[0])
        self._show_swatch()

    def _pick_colour(self):
        K = self.canvas.levels
        start = QColor(*[round(v * 255 / (K - 1)) for v in (list(self.canvas.colour) + [0, 0])[:3]])
        colour = QColorDialog.getColor(start, self, "Brush colour")
        if colour.isValid():
            self.set_colour((colour.red(), colour.green(), colour.blue()))

    def set_colour(self, rgb255: tuple[int, int, int]):
        """An RGB colour (0..255 each) -> the nearest level in each channel."""
        K = self.canvas.levels
        self.canvas.colour = tuple(round(v / 255 * (K - 1)) for v in rgb255[:self.canvas.values.shape[0]])
        self._show_swatch()

    def _show_swatch(self):
        rgb = levels_to_rgb(np.array(self.canvas.colour).reshape(-1, 1, 1), self.canvas.levels)[0, 0]
        self.swatch.setStyleSheet(f"background: rgb({rgb[0]}, {rgb[1]}, {rgb[2]}); border: 1px solid #888")
