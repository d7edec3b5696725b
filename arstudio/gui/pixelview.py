"""A crisp pixel view: an (H, W, 3) image scaled nearest-neighbour, an overlay, one highlighted cell.

Used for the canvas, the completions and the inspector's image. Clicks are
reported as (row, col); ``cell_centre`` gives the widget point of a cell.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

UNKNOWN_RGB = (190, 60, 190)  # magenta: "the model fills this in"


def levels_to_rgb(values: np.ndarray, levels: int) -> np.ndarray:
    """(C, H, W) levels -> (H, W, 3) uint8; one channel is grey, three are RGB."""
    v = values.astype(np.float32) / max(levels - 1, 1)
    rgb = (np.clip(v, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else np.ascontiguousarray(rgb[..., :3])


def field_overlay(values: np.ndarray) -> np.ndarray:
    """(H, W) |gradient| -> RGBA: pixels with no influence dimmed, the others cyan by strength."""
    reach = values > 0
    strength = np.sqrt(values / (float(values.max()) or 1.0))  # sqrt: weak links stay visible
    out = np.zeros((*values.shape, 4), np.uint8)
    out[~reach] = (0, 0, 0, 170)
    out[reach, :3] = (0, 200, 255)
    out[reach, 3] = (90 + 150 * strength[reach]).astype(np.uint8)
    return out


def heat_map(values: np.ndarray) -> np.ndarray:
    """(H, W) non-negative values -> opaque (H, W, 4) black-red-yellow-white heat map."""
    v = np.clip(values / (float(values.max()) or 1.0), 0, 1)
    rgb = np.stack([np.clip(3 * v, 0, 1), np.clip(3 * v - 1, 0, 1), np.clip(3 * v - 2, 0, 1)], -1)
    out = np.full((*values.shape, 4), 255, np.uint8)
    out[..., :3] = (rgb * 255).astype(np.uint8)
    return out


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
