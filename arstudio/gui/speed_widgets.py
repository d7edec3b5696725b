"""Fast generation you can see: the naive / cached switch, the live speed meter, the
class and order pickers, and the view of a cached stepper's states.

The meter reads a :class:`~arstudio.sampling.speed.SpeedMeter` that the sampling
thread fills; a 10 Hz timer redraws the labels from its latest figures only.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.pixelview import PixelView
from arstudio.sampling.orders import NOTES as ORDER_NOTES
from arstudio.sampling.orders import ORDERS, describe_order, make_order, rank_map
from arstudio.sampling.speed import PATHS, SpeedMeter

CHECK, CROSS = "✓", "✗"


def _rate(r: float) -> str:
    return f"{r:,.0f} px/s" if r >= 10 else f"{r:.1f} px/s"


class SpeedMeterWidget(QWidget):
    """The sampler switch (cached / naive), both paths' live pixels per second, the
    speed-up, and a check mark when both gave identical samples for the same request.
    ``rerun_requested`` asks the owner to repeat its last request on the other path."""

    rerun_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.meter = SpeedMeter()
        self.path_box = QComboBox(objectName="sampling_path")  # lessons set it by name
        self.path_box.addItems(PATHS)
        self.path_box.setToolTip("cached: the model's stepper keeps every layer's states and computes only the "
                                 "new pixel's; naive: the whole network runs again for every pixel")
        self.rerun = QPushButton("Other path, same seed")
        self.rerun.setToolTip("repeat the last request on the other path: same seed, same samples expected")
        self.rerun.clicked.connect(self.rerun_requested)
        self.rates = {p: QLabel(f"{p}: –") for p in PATHS}
        self.speedup = QLabel("speed-up –")
        self.same = QLabel("")
        self.same.setMinimumWidth(160)
        self.same.setToolTip("both paths, same model, seed and settings: are the samples identical?")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Sampler"))
        top.addWidget(self.path_box)
        top.addWidget(self.rerun)
        top.addStretch(1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        for w in (*self.rates.values(), self.speedup, self.same):
            bottom.addWidget(w)
        bottom.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(bottom)
        self.timer = QTimer(self, interval=100)  # 10 Hz: the labels follow the latest figures
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.set_cached_available(True)

    @property
    def path(self) -> str:
        return self.path_box.currentText()

    def set_path(self, path: str) -> None:
        self.path_box.setCurrentText(path)

    def other_path(self) -> str:
        return "naive" if self.path == "cached" else "cached"

    def set_cached_available(self, available: bool, name: str = "") -> None:
        """Models without a cached stepper sample naively only: the switch says so."""
        self.cached_available = available
        self.path_box.setEnabled(available)
        self.rerun.setEnabled(available)
        if not available:
            self.path_box.setCurrentText("naive")
            self.path_box.setToolTip(f"{name or 'this model'} has no cached stepper: naive only")

    def reset(self) -> None:
        self.meter.clear()
        self.refresh()

    def refresh(self) -> None:
        for p, label in self.rates.items():
            t = self.meter.timing(p)
            if t is None:
                label.setText(f"{p}: –")
            else:
                live = "" if t.finished else f" ({t.pixels / max(t.total, 1):.0%})"
                label.setText(f"{p}: {_rate(t.rate)}{live}")
        s = self.meter.speedup()
        self.speedup.setText("speed-up –" if s is None else f"speed-up {s:.1f}×")
        same = self.meter.identical()
        if same is None:
            self.same.setText("")
        elif same:
            self.same.setStyleSheet("color: #1a8f2a; font-weight: bold")
            self.same.setText(f"{CHECK} identical samples")
        else:
            self.same.setStyleSheet("color: #c0392b; font-weight: bold")
            self.same.setText(f"{CROSS} samples differ")


class ClassPicker(QWidget):
    """For class-conditional models: which class to generate (Samples: or one row per class)."""

    changed = Signal()
    ALL = "one row per class"

    def __init__(self, allow_all: bool, parent=None):
        super().__init__(parent)
        self.allow_all = allow_all
        self.box = QComboBox(objectName="class")
        self.box.currentIndexChanged.connect(lambda _i: self.changed.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Class"))
        layout.addWidget(self.box)
        self.set_classes(0)

    def set_classes(self, num_classes: int, names=None, source=None) -> None:
        """``source``: the checkpoint these classes are of (what a lesson waits for)."""
        self.source = source
        self.box.blockSignals(True)
        self.box.clear()
        if num_classes > 0:
            if self.allow_all:
                self.box.addItem(self.ALL)
            for i in range(num_classes):
                self.box.addItem(str(names[i]) if names and i < len(names) else str(i))
        self.box.blockSignals(False)
        self.num_classes = num_classes
        self.setVisible(num_classes > 0)

    def label(self) -> int | None:
        """The chosen class id; None for "one row per class" or an unconditional model."""
        if self.num_classes == 0:
            return None
        i = self.box.currentIndex() - (1 if self.allow_all else 0)
        return i if i >= 0 else None

    def set_label(self, label: int | None) -> None:
        self.box.setCurrentIndex((0 if label is None else label + 1) if self.allow_all else (label or 0))


class _PaintMap(PixelView):
    """A pixel view that also reports the cells a pressed mouse drags over, and the
    stroke's end (the button released)."""

    stroke_done = Signal()

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.MouseButton.LeftButton:
            cell = self.cell_at(event.position().toPoint())
            if cell is not None:
                self.pixel_clicked.emit(*cell)

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self.stroke_done.emit()


class LocationPicker(QWidget):
    """For models conditioned on a map (``local_map``: a Gated PixelCNN conditioned on where
    the digit is): paint where the digit should go. A drag paints a 3×3 brush; each stroke,
    Clear and Centre emit ``changed`` (the tab samples again). Starts as a centred box."""

    changed = Signal()
    INK, EMPTY = (255, 176, 48), (28, 28, 36)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.map = _PaintMap(min_cell=6)
        self.map.setObjectName("location")
        self.map.setToolTip("drag to paint where the digit should go")
        self.map.setFixedSize(120, 120)
        self.map.pixel_clicked.connect(self._paint_at)
        self.map.stroke_done.connect(self.changed)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.centre_button = QPushButton("Centre")
        self.centre_button.setToolTip("a box in the middle, half the canvas's side")
        self.centre_button.clicked.connect(self.centre)
        self.painted: np.ndarray | None = None  # (C, H, W) float32: 1 where the digit should go
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Where"), 0, 0)
        grid.addWidget(self.clear_button, 1, 0)
        grid.addWidget(self.centre_button, 2, 0)
        grid.addWidget(self.map, 0, 1, 4, 1)
        grid.setRowStretch(3, 1)
        self.set_map(None)

    def set_map(self, local_map) -> None:
        """``local_map``: the model's (C, H, W) map, or None (the picker hides)."""
        from arstudio.sampling.conditioning import default_location

        self.painted = None if local_map is None else default_location(local_map)
        self.setVisible(local_map is not None)
        self.draw()

    def location(self) -> np.ndarray | None:
        return None if self.painted is None else self.painted.copy()

    def _paint_at(self, row, col):
        if self.painted is None:
            return
        _, H, W = self.painted.shape
        self.painted[:, max(row - 1, 0): min(row + 2, H), max(col - 1, 0): min(col + 2, W)] = 1.0
        self.draw()

    def paint_cells(self, cells) -> None:
        """Paint these (row, col) cells with the brush, as one stroke (what a drag does)."""
        for r, c in cells:
            self._paint_at(r, c)
        self.changed.emit()

    def clear(self):
        if self.painted is not None:
            self.painted[:] = 0.0
            self.draw()
            self.changed.emit()

    def centre(self):
        if self.painted is not None:
            from arstudio.sampling.conditioning import default_location

            self.painted = default_location(self.painted.shape)
            self.draw()
            self.changed.emit()

    def draw(self):
        if self.painted is None:
            return
        on = self.painted.max(0)[..., None] > 0  # (H, W, 1)
        self.map.set_rgb(np.where(on, np.array(self.INK), np.array(self.EMPTY)).astype(np.uint8))


class OrderPicker(QWidget):
    """The generation order: a choice for order-agnostic models (DeepNADE, MADE trained over
    orderings), the model's own fixed order (named: raster, zigzag) for every other. The
    map shows each pixel's step; in "painted" mode, drag over it to paint the order."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.shape = None
        self.fixed_order = None
        self.agnostic = False
        self.box = QComboBox(objectName="order")
        self.box.addItems(ORDERS)
        self.box.currentTextChanged.connect(self._changed)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.map = _PaintMap(min_cell=4)
        self.map.setMaximumSize(200, 200)
        self.map.pixel_clicked.connect(self._paint)
        self.clear_button = QPushButton("Clear painting")
        self.clear_button.clicked.connect(self.clear_painting)
        self.ranks: np.ndarray | None = None  # (H, W) painted step per pixel, inf = unpainted
        self._painted = 0
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Order"), 0, 0)
        grid.addWidget(self.box, 0, 1)
        grid.addWidget(self.clear_button, 0, 2)
        grid.addWidget(self.note, 1, 0, 1, 3)
        grid.addWidget(self.map, 2, 0, 1, 3)

    def set_model(self, shape, order, agnostic: bool) -> None:
        """``order``: the model's own order (a permutation); ``agnostic``: any order is exact."""
        self.shape = tuple(shape)
        self.fixed_order = np.asarray(order)
        self.agnostic = agnostic
        _, H, W = self._chw()
        self.ranks = np.full((H, W), np.inf)
        self._painted = 0
        self.box.setEnabled(agnostic)
        if not agnostic:
            self.box.blockSignals(True)
            own = describe_order(self.fixed_order, self.shape)
            self.box.setCurrentText(own if own in ORDERS else "raster")
            self.box.blockSignals(False)
        self._changed()

    def _chw(self):
        return self.shape if len(self.shape) == 3 else (1, 1, self.shape[0])

    def order(self) -> np.ndarray | None:
        """The permutation to generate in; None keeps the model's own."""
        if self.shape is None or not self.agnostic:
            return None
        name = self.box.currentText()
        return make_order(name, self.shape, seed=0, ranks=self.ranks if name == "painted" else None)

    def order_name(self) -> str:
        """The order generation runs in, by name (raster, zigzag, centre-out, painted, ...)."""
        if self.shape is None:
            return "raster"
        if self.agnostic:
            return self.box.currentText()
        return describe_order(self.fixed_order, self.shape)

    def shown_order(self) -> np.ndarray:
        order = self.order()
        return self.fixed_order if order is None else order

    def _changed(self, *_):
        if self.shape is None:
            return
        name = self.box.currentText()
        self.clear_button.setVisible(self.agnostic and name == "painted")
        if self.agnostic:
            self.note.setText(ORDER_NOTES[name] + (" — drag over the map to paint" if name == "painted" else ""))
        else:
            own = describe_order(self.fixed_order, self.shape)
            self.note.setText(f"this model generates in its own fixed order ({own}): "
                              + ORDER_NOTES.get(own, "its trained ordering")
                              + "; order-agnostic models (DeepNADE, MADE over orderings) take any")
        self.draw()
        self.changed.emit()

    def draw(self):
        ranks = rank_map(self.shown_order(), self.shape).astype(np.float32)
        t = ranks / max(ranks.max(), 1)
        rgb = np.stack([40 + 215 * t, 60 + 120 * (1 - abs(2 * t - 1)), 255 - 215 * t], -1)  # blue → red
        if self.agnostic and self.box.currentText() == "painted":
            rgb = np.where(np.isfinite(self.ranks)[..., None], rgb, 30)  # unpainted: dark
        self.map.set_rgb(rgb.astype(np.uint8))

    def _paint(self, row, col):
        if not (self.agnostic and self.box.currentText() == "painted"):
            return
        if not np.isfinite(self.ranks[row, col]):
            self.ranks[row, col] = self._painted
            self._painted += 1
            self.draw()
            self.changed.emit()

    def paint_path(self, cells) -> None:
        """Paint these (row, col) cells in turn (what a drag does)."""
        self.box.setCurrentText("painted")
        for r, c in cells:
            self._paint(r, c)

    def clear_painting(self):
        self.ranks[:] = np.inf
        self._painted = 0
        self.draw()
        self.changed.emit()


_KEPT, _NOW, _EMPTY = (70, 110, 200), (230, 60, 40), (25, 25, 30)


class StatesView(QWidget):
    """Every tensor the model's cached stepper keeps, as a small map: blue = kept
    (cached before this pixel), red = computed for this pixel, dark = empty."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("States of the cached stepper: click a pixel of a completion")
        self.title.setWordWrap(True)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        box = QWidget()
        box.setLayout(self.grid)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(box)
        self.maps = []
        self.cells: list[QWidget] = []

    def show_states(self, maps, where: str) -> None:
        for w in self.cells:
            w.setParent(None)
        self.cells, self.maps = [], list(maps)
        kept = sum(int(m.kept.sum()) for m in maps)
        now = sum(int(m.computed.sum()) for m in maps)
        self.title.setText(f"Cached stepper at {where}: {len(maps)} state tensors, {kept} positions kept "
                           f"(blue), {now} computed for this pixel (red)")
        cols = 4
        for k, m in enumerate(maps):  # the shapes are in the tooltips
            rgb = np.empty((*m.grid, 3), np.uint8)
            rgb[:] = _EMPTY
            rgb[m.kept] = _KEPT
            rgb[m.computed] = _NOW
            view = PixelView(min_cell=2)
            view.set_rgb(rgb)
            view.setMinimumHeight(28 if m.grid[0] == 1 else 72)
            view.setMaximumHeight(120)
            cell = QWidget()
            v = QVBoxLayout(cell)
            v.setContentsMargins(0, 0, 0, 0)
            name = QLabel(m.name)
            name.setToolTip(f"{m.name}: a tensor of shape {tuple(m.shape)} (batch first)")
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.setToolTip(name.toolTip())
            v.addWidget(name)
            v.addWidget(view)
            self.grid.addWidget(cell, k // cols, k % cols)
            self.cells.append(cell)

    def show_message(self, text: str) -> None:
        for w in self.cells:
            w.setParent(None)
        self.cells, self.maps = [], []
        self.title.setText(text)
