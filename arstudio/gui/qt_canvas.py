"""The painting canvas: crisp zoomable pixels, brushes, an "unknown" brush, undo/redo.

``PixelView`` shows an (H, W, 3) uint8 image with nearest-neighbour scaling,
an optional RGBA overlay and a highlighted cell, and reports clicks as
(row, col). ``PaintCanvas`` adds the editable image: ``values`` (C, H, W)
integer levels and ``unknown`` (H, W) bool, the pixels a completion should
generate. ``CanvasPanel`` is the canvas with its tool bar.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QButtonGroup, QColorDialog, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget)

UNKNOWN_RGB = (190, 60, 190)  # magenta checker: "the model fills this in"
TOOLS = ("brush", "eraser", "unknown", "fill", "inspect")


def levels_to_rgb(values: np.ndarray, levels: int) -> np.ndarray:
    """(C, H, W) levels -> (H, W, 3) uint8; one channel is grey, three are RGB."""
    v = values.astype(np.float32) / max(levels - 1, 1)
    rgb = (np.clip(v, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else np.ascontiguousarray(rgb[..., :3])


def _qimage(array: np.ndarray) -> QImage:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    h, w, c = array.shape
    fmt = QImage.Format.Format_RGB888 if c == 3 else QImage.Format.Format_RGBA8888
    return QImage(array.data, w, h, c * w, fmt).copy()


class PixelView(QWidget):
    """A crisp image with an overlay and a highlighted cell; clicks give (row, col)."""

    pixel_clicked = Signal(int, int)
    zoom_changed = Signal(int)

    def __init__(self, parent=None, min_cell: int = 2):
        super().__init__(parent)
        self.rgb = np.zeros((1, 1, 3), np.uint8)
        self.overlay: np.ndarray | None = None  # (H, W, 4) uint8 or None
        self.highlight: tuple[int, int] | None = None  # (row, col) outlined in yellow
        self.selected = False  # a blue frame around the whole view
        self.zoom = 0  # 0: fit the widget; otherwise screen pixels per image pixel
        self.min_cell = min_cell
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)

    def set_rgb(self, rgb: np.ndarray):
        self.rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        self._image = None
        self._resize_for_zoom()
        self.update()

    def set_overlay(self, overlay: np.ndarray | None):
        self.overlay = overlay
        self.update()

    def set_highlight(self, cell: tuple[int, int] | None):
        if cell != self.highlight:
            self.highlight = cell
            self.update()

    def set_zoom(self, cell_pixels: int):
        self.zoom = int(cell_pixels)
        self._resize_for_zoom()
        self.update()

    def _resize_for_zoom(self):
        h, w = self.rgb.shape[:2]
        if self.zoom:
            self.setMinimumSize(w * self.zoom, h * self.zoom)
        else:
            self.setMinimumSize(w * self.min_cell, h * self.min_cell)

    def sizeHint(self):
        h, w = self.rgb.shape[:2]
        cell = self.zoom or max(self.min_cell, 256 // max(h, w))
        return QSize(w * cell, h * cell)

    def cell_size(self) -> int:
        h, w = self.rgb.shape[:2]
        return self.zoom or max(1, min(self.width() // w, self.height() // h))

    def image_rect(self) -> QRect:
        h, w = self.rgb.shape[:2]
        cell = self.cell_size()
        x0 = max(0, (self.width() - w * cell) // 2)
        y0 = max(0, (self.height() - h * cell) // 2)
        return QRect(x0, y0, w * cell, h * cell)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        rect, cell = self.image_rect(), self.cell_size()
        h, w = self.rgb.shape[:2]
        r, c = (pos.y() - rect.y()) // cell, (pos.x() - rect.x()) // cell
        return (r, c) if 0 <= r < h and 0 <= c < w else None

    def cell_centre(self, row: int, col: int) -> QPoint:
        """Widget coordinates of the centre of a cell (tests click here)."""
        rect, cell = self.image_rect(), self.cell_size()
        return QPoint(rect.x() + col * cell + cell // 2, rect.y() + row * cell + cell // 2)

    def paintEvent(self, event):
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(40, 40, 40))
        rect = self.image_rect()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp pixels
        p.drawImage(rect, _qimage(self.rgb))
        if self.overlay is not None:
            p.drawImage(rect, _qimage(self.overlay))
        cell = self.cell_size()
        if self.highlight is not None:
            r, c = self.highlight
            p.setPen(QPen(QColor(255, 220, 0), max(2, cell // 6)))
            p.drawRect(rect.x() + c * cell, rect.y() + r * cell, cell, cell)
        if self.selected:
            p.setPen(QPen(QColor(60, 140, 255), 3))
            p.drawRect(rect.adjusted(1, 1, -2, -2))
        p.end()

    def mousePressEvent(self, event):
        cell = self.cell_at(event.position().toPoint())
        if cell is not None:
            self.pixel_clicked.emit(*cell)

    def wheelEvent(self, event):
        """Ctrl+wheel zooms in whole screen pixels per image pixel (crisp at every step)."""
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return super().wheelEvent(event)
        step = 1 if event.angleDelta().y() > 0 else -1
        self.set_zoom(max(1, min(64, self.cell_size() + step)))
        self.zoom_changed.emit(self.zoom)


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
        settings = QHBoxLayout()
        for w in (self.brush, self.level, self.colour_button, self.swatch, self.zoom):
            settings.addWidget(w)
        settings.addStretch(1)

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
        for w in (self.clear_button, self.fill_unknown, self.undo_button, self.redo_button, self.example_button):
            actions.addWidget(w)
        actions.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addLayout(settings)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(actions)

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
