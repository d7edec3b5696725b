"""Shared widgets of the Latent tab's views: a VQ-VAE's code grid (a categorical palette,
a clickable grid with the code numbers in its cells), a decoded image beside its code
grid with the codes still to come veiled, and the controls of a code-by-code run.

``CodeGridView`` is a :class:`~arstudio.gui.pixelview.PixelView` whose cells are codes:
each code has its own colour (``code_palette``), codes still to be generated are magenta
(as the canvas's "unknown"), the code just generated (or clicked) is outlined, and clicks
give (row, col) of a code.
"""
from __future__ import annotations

import colorsys

import numpy as np
from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.pixelview import UNKNOWN_RGB, PixelView, levels_to_rgb


def code_palette(k: int) -> np.ndarray:
    """(k, 3) uint8: k colours far apart (golden-ratio hues, three brightness bands)."""
    out = np.zeros((k, 3), np.uint8)
    for i in range(k):
        hue = (i * 0.618033988749895) % 1.0
        sat, val = (0.55, 0.95) if i % 3 == 0 else (0.75, 0.75) if i % 3 == 1 else (0.9, 0.55)
        out[i] = [round(255 * v) for v in colorsys.hsv_to_rgb(hue, sat, val)]
    return out


def code_grid_rgb(codes: np.ndarray, k: int, pending: np.ndarray | None = None) -> np.ndarray:
    """(h, w) codes -> (h, w, 3) colours; pending codes magenta."""
    rgb = code_palette(k)[np.asarray(codes, np.int64)]
    if pending is not None:
        rgb[np.asarray(pending, bool)] = UNKNOWN_RGB
    return rgb


def veil(pending: np.ndarray, factor: int, alpha: int = 150) -> np.ndarray | None:
    """(h, w) pending codes -> an (H, W, 4) overlay veiling their pixel regions in magenta."""
    pending = np.asarray(pending, bool)
    if not pending.any():
        return None
    cover = pending.repeat(factor, 0).repeat(factor, 1)
    out = np.zeros((*cover.shape, 4), np.uint8)
    out[cover] = (*UNKNOWN_RGB, alpha)
    return out


def region_overlay(shape: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    """(H, W, 4): everything but the region washed pale, the region left clear."""
    out = np.zeros((*shape, 4), np.uint8)
    out[...] = (200, 200, 230, 120)
    out[rows, cols] = 0
    return out


class RegionView(PixelView):
    """An image with one rectangular region of pixels framed (``set_region``)."""

    def __init__(self, parent=None, min_cell: int = 3):
        super().__init__(parent, min_cell=min_cell)
        self.region: tuple[slice, slice] | None = None

    def set_region(self, region: tuple[slice, slice] | None):
        self.region = region
        self.set_overlay(None if region is None else region_overlay(self.rgb.shape[:2], *region))

    def paintEvent(self, event):
        super().paintEvent(event)
        if self.region is None:
            return
        rows, cols = self.region
        rect, cell = self.image_rect(), self.cell_size()
        p = QPainter(self)
        p.setPen(QPen(QColor(255, 220, 0), max(2, cell // 4)))
        p.drawRect(rect.x() + cols.start * cell, rect.y() + rows.start * cell,
                   (cols.stop - cols.start) * cell, (rows.stop - rows.start) * cell)
        p.end()


def image_rgb(image: np.ndarray, levels: int) -> np.ndarray:
    return levels_to_rgb(np.asarray(image), levels)


class CodeGridView(PixelView):
    """A grid of codes, coloured by code, numbered when the cells are large enough."""

    def __init__(self, parent=None, min_cell: int = 6):
        super().__init__(parent, min_cell=min_cell)
        self.codes = np.zeros((1, 1), np.int64)
        self.pending = np.zeros((1, 1), bool)
        self.k = 1

    def set_codes(self, codes: np.ndarray, k: int, pending: np.ndarray | None = None):
        self.codes = np.asarray(codes, np.int64).copy()
        self.pending = np.zeros(self.codes.shape, bool) if pending is None else np.asarray(pending, bool).copy()
        self.k = k
        self.set_rgb(code_grid_rgb(self.codes, k, self.pending))

    def paintEvent(self, event):
        super().paintEvent(event)
        cell = self.cell_size()
        if cell < 16:
            return
        p = QPainter(self)
        font = QFont()
        font.setPixelSize(max(8, cell // 3))
        p.setFont(font)
        rect = self.image_rect()
        palette = code_palette(self.k)
        for r in range(self.codes.shape[0]):
            for c in range(self.codes.shape[1]):
                if self.pending[r, c]:
                    continue
                code = int(self.codes[r, c])
                light = palette[code].astype(float) @ (0.299, 0.587, 0.114) > 140
                p.setPen(QColor(0, 0, 0) if light else QColor(255, 255, 255))
                p.drawText(QRect(rect.x() + c * cell, rect.y() + r * cell, cell, cell),
                           Qt.AlignmentFlag.AlignCenter, str(code))
        p.end()


class PairView(QWidget):
    """One decoded image above its code grid, with a caption; a click on either is ``chosen``."""

    chosen = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = PixelView(min_cell=2)
        self.grid = CodeGridView(min_cell=4)
        self.caption = QLabel("")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.pixel_clicked.connect(lambda _r, _c: self.chosen.emit())
        self.grid.pixel_clicked.connect(lambda _r, _c: self.chosen.emit())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.image, 3)
        layout.addWidget(self.grid, 2)
        layout.addWidget(self.caption)

    def show_step(self, image: np.ndarray, levels: int, codes: np.ndarray, k: int,
                  pending: np.ndarray, factor: int, current: tuple[int, int] | None = None):
        self.image.set_rgb(image_rgb(image, levels))
        self.image.set_overlay(veil(pending, factor))
        self.grid.set_codes(codes, k, pending)
        self.grid.set_highlight(current)


class RunControls(QWidget):
    """Speed (codes per second), pause, single step and stop for a
    :class:`~arstudio.gui.latent_run.LatentRun`; polls it at ~30 Hz and reports the latest
    snapshot (``frame``), the end (``done``, the last snapshot) or an error (``failed``)."""

    frame = Signal(object)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run = None
        self.speed = QSpinBox(minimum=0, maximum=1000, value=12, suffix=" codes/s", specialValueText="max speed",
                              toolTip="codes generated per second (0: as fast as the model goes)")
        self.speed.valueChanged.connect(self._speed_changed)
        self.pause = QPushButton("Pause", checkable=True, toolTip="hold the run; Step generates one code")
        self.pause.toggled.connect(self._pause_toggled)
        self.step = QPushButton("Step", toolTip="one more code while paused")
        self.step.clicked.connect(self._step)
        self.stop = QPushButton("Stop")
        self.stop.clicked.connect(self.stop_run)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.speed, self.pause, self.step, self.stop):
            layout.addWidget(w)
        self.timer = QTimer(self, interval=33)
        self.timer.timeout.connect(self._poll)

    def codes_per_second(self) -> float:
        return float("inf") if self.speed.value() == 0 else float(self.speed.value())

    def running(self) -> bool:
        return self.run is not None and not self.run.finished.is_set()

    def start(self, run):
        self.stop_run()
        self.run = run
        if self.pause.isChecked():
            run.paused.set()
        run.start()
        self.timer.start()

    def stop_run(self):
        if self.run is not None and not self.run.finished.is_set():
            self.run.stopped.set()
            self.run.thread.join(5)

    def _speed_changed(self, _v):
        if self.run is not None:
            self.run.speed = self.codes_per_second()

    def _pause_toggled(self, on: bool):
        if self.run is not None:
            (self.run.paused.set if on else self.run.paused.clear)()

    def _step(self):
        if self.run is not None:
            if not self.pause.isChecked():
                self.pause.setChecked(True)
            self.run.step_once()

    def _poll(self):
        run = self.run
        if run is None:
            self.timer.stop()
            return
        latest = run.take_latest()
        if latest is not None:
            self.frame.emit(latest)
        if run.finished.is_set():  # everything it wrote is in by now
            last = run.take_latest()
            if last is not None:
                self.frame.emit(last)
            self.timer.stop()
            self.run = None
            if run.error:
                self.failed.emit(run.error)
            elif run.result is not None:
                self.done.emit(run.result)


class LatentRunPanel(QWidget):
    """What the Latent tab's Samples and Complete views share: the count and temperature of a
    run, its button and :class:`RunControls`, and a grid of :class:`PairView` (one per run
    member) that shows every snapshot; a click on a finished one asks for the code-grid
    inspector (``inspect_requested``). Subclasses lay the pieces out and start runs with
    :meth:`start_run`."""

    message = Signal(str)
    inspect_requested = Signal(object, object)  # image (C, H, W), codes (h, w): NumPy

    def __init__(self, *, noun: str, most: int, count: int, columns: int, button: str, failed: str,
                 parent=None):
        super().__init__(parent)
        self.noun = noun  # a run member's caption: "sample", "completion"
        self.columns = columns
        self.path = self.pair = None
        self.views: list[PairView] = []
        self.result: dict | None = None  # the last finished run's snapshot
        self.frames = 0  # snapshots drawn (the animation's frames)
        self._seed = 0
        self.count = QSpinBox(minimum=1, maximum=most, value=count, prefix=f"{noun}s ")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0,
                                          prefix="temperature ")
        self.button = QPushButton(button)
        self.controls = RunControls()
        self.controls.frame.connect(self._frame)
        self.controls.done.connect(self._finished_run)
        self.controls.failed.connect(lambda text: self.message.emit(f"{failed}: {text}"))
        self.progress = QLabel("")
        self.grid = QGridLayout()

    def _show_pair(self, path, pair):
        """A new pair: any run stopped, no views until the next run."""
        self.controls.stop_run()
        self.path, self.pair = path, pair
        self.result = None
        self._make_views(0)

    def _make_views(self, n: int):
        for v in self.views:
            self.grid.removeWidget(v)
            v.deleteLater()
        self.views = []
        for i in range(n):
            v = PairView()
            v.chosen.connect(lambda i=i: self._chosen(i))
            self.grid.addWidget(v, i // self.columns, i % self.columns)
            self.views.append(v)

    def start_run(self, kind: str, **inputs) -> int:
        """Starts a :class:`~arstudio.gui.latent_run.LatentRun` of ``kind`` for the count
        (fresh views, a new seed); returns the count."""
        from arstudio.gui.latent_run import LatentRun

        n = self.count.value()
        self._make_views(n)
        self.result = None
        self.frames = 0
        self._seed += 1
        self.controls.start(LatentRun(self.path, kind, n, self.temperature.value(), self._seed,
                                      self.controls.codes_per_second(), **inputs))
        return n

    def _frame(self, s: dict):
        self.frames += 1
        _h, w = self.pair.code_shape
        current = divmod(s["index"], w)
        k, levels, f = self.pair.vqvae.config.codes, self.pair.spec.levels, self.pair.factor
        for i, v in enumerate(self.views[:len(s["codes"])]):
            v.show_step(s["images"][i], levels, s["codes"][i], k, s["pending"], f, current)
        self.progress.setText(f"code {s['step'] + 1} of {s['total']}")

    def _finished_run(self, s: dict):
        self.result = s
        for i, v in enumerate(self.views):
            v.grid.set_highlight(None)
            v.caption.setText(f"{self.noun} {i + 1}")
        self._done(s)

    def _done(self, s: dict):
        """Called once a run has finished and its views are captioned."""

    def _chosen(self, i: int):
        if self.result is not None:
            self.inspect_requested.emit(np.array(self.result["images"][i]), np.array(self.result["codes"][i]))
