"""What one run looks like: bits/dim curves, figures, sample grids with a
timeline of saved steps, and its config. Fed by a :class:`RunFollower`;
``refresh()`` is cheap when nothing changed, so a timer may call it often.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.qimage import pixmap_from_rgb
from arstudio.runs.follow import RunFollower, format_seconds

PLOT_INTERVAL_S = 0.25  # curves and figures redraw at most 4 times a second; the ETA every tick
TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#d62728", width=2)


def make_bpd_plot() -> tuple[pg.PlotWidget, pg.PlotDataItem, pg.PlotDataItem]:
    """A plot with its two curves created once; later only setData is called."""
    plot = pg.PlotWidget(background="w")
    plot.setLabel("bottom", "step")
    plot.setLabel("left", "bits / dim")
    plot.getAxis("left").enableAutoSIPrefix(False)  # "0.17 bits/dim", never "170 (x0.001)"
    plot.showGrid(x=True, y=True, alpha=0.3)
    plot.addLegend(offset=(-10, 10))
    train = plot.plot([], [], pen=TRAIN_PEN, name="train")
    val = plot.plot([], [], pen=VAL_PEN, symbol="o", symbolSize=7, symbolBrush="#d62728", name="validation")
    return plot, train, val


class RunView(QWidget):
    sample_shown = Signal(int)  # step of the grid now on screen

    def __init__(self, parent=None):
        super().__init__(parent)
        self.follower: RunFollower | None = None
        self._drawn_version = -1
        self._drawn_at = 0.0
        self._x_range = None
        self._grids: list[tuple[int, object]] = []  # (step, a run's PNG path, or a bundled model's RGB array)
        self._grid_prefix = "samples"
        self._pixmap: QPixmap | None = None
        self.shown_step: int | None = None
        self.bundled = None  # the bundled model whose samples are on screen before any run (the studio sets it)

        self.plot, self.train_curve, self.val_curve = make_bpd_plot()
        self.figures = {name: QLabel("–") for name in
                        ("state", "step", "train", "val", "test", "speed", "elapsed", "eta", "device", "params")}
        titles = {"state": "State", "step": "Step", "train": "Train bits/dim", "val": "Val bits/dim",
                  "test": "Test bits/dim", "speed": "Throughput", "elapsed": "Elapsed", "eta": "ETA",
                  "device": "Device", "params": "Parameters"}
        fig_layout = QGridLayout()
        for i, (key, label) in enumerate(self.figures.items()):
            label.setObjectName(f"figure_{key}")
            # a changing number must not re-lay out the window (and repaint the plot) every step
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance("00,000 / 00,000"))
            fig_layout.addWidget(QLabel(titles[key] + ":"), i // 5 * 2, i % 5)
            fig_layout.addWidget(label, i // 5 * 2 + 1, i % 5)

        self.image = QLabel("samples appear here as training goes")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.setMinimumSize(160, 160)  # with a lesson panel open the window still fits 720 px
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setEnabled(False)
        self.timeline.valueChanged.connect(self._show_grid)
        self.timeline_label = QLabel("no samples yet")
        samples = QWidget()
        s_layout = QVBoxLayout(samples)
        s_layout.setContentsMargins(0, 0, 0, 0)
        s_layout.addWidget(self.image, 1)
        s_layout.addWidget(self.timeline)
        s_layout.addWidget(self.timeline_label)

        self.config_text = QPlainTextEdit(readOnly=True)
        self.config_text.setMaximumHeight(140)
        self.config_text.setPlaceholderText("the run's config.json")

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.plot)
        top.addWidget(samples)
        top.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(fig_layout)
        layout.addWidget(top, 1)
        layout.addWidget(self.config_text)

    def follow(self, follower: RunFollower | None) -> None:
        self.follower = follower
        self.bundled = None
        self._drawn_version = -1
        self._drawn_at = 0.0
        self._x_range = None
        self.plot.enableAutoRange()
        self._set_grids([])
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
        self.timeline.setEnabled(False)
        self.image.clear()
        self.image.setText("samples appear here as training goes")
        self.timeline_label.setText("no samples yet")
        self.config_text.setPlainText(json.dumps(follower.config, indent=1) if follower else "")
        for label in self.figures.values():
            label.setText("–")

    def show_still(self, png, caption: str) -> bool:
        """Before any run is open: a saved grid (a bundled model's samples), no timeline."""
        pix = QPixmap(str(png))
        if self.follower is not None or pix.isNull():
            return False
        self._set_grids([])
        self._pixmap = pix
        self.timeline_label.setText(caption)
        self._redraw()
        return True

    def show_history(self, snapshots, spec, name: str) -> bool:
        """Before any run is open: a bundled model's shipped sample grids ((step, uint8 array)
        from :func:`arstudio.bundled.read_history`) on the timeline, scrubbed by step as a
        run's are; the last one shown. False (nothing changed) while a run is open or with none."""
        if self.follower is not None or not snapshots:
            return False
        import torch

        from arstudio.imaging import samples_grid

        grids = [(step, samples_grid(torch.as_tensor(x, dtype=torch.long), spec)) for step, x in snapshots]
        self._set_grids(grids, f"samples of the bundled model {name}")
        self.timeline.setValue(len(grids) - 1)
        self._show_grid(len(grids) - 1)
        return True

    @property
    def shown_array(self) -> np.ndarray | None:
        """The bundled model's grid on screen (RGB), or None (a run's grid is its PNG file)."""
        index = self.timeline.value()
        if self.follower is None and 0 <= index < len(self._grids) and isinstance(self._grids[index][1], np.ndarray):
            return self._grids[index][1]
        return None

    def _set_grids(self, grids, prefix: str = "samples") -> None:
        self._grids, self._grid_prefix = grids, prefix
        self.shown_step = None
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, max(len(grids) - 1, 0))
        self.timeline.blockSignals(False)
        self.timeline.setEnabled(bool(grids))

    def refresh(self, state: str | None = None) -> None:
        """Redraw from the follower's latest data; only what changed is touched."""
        f = self.follower
        if f is None:
            return
        if state is not None:
            self.figures["state"].setText(state)
        self.figures["eta"].setText(format_seconds(f.eta()))
        if f.version == self._drawn_version:
            return
        now = time.monotonic()
        if not f.finished and now - self._drawn_at < PLOT_INTERVAL_S:
            return  # a plot repaint costs tens of ms on a busy CPU: at most a few per second
        self._drawn_version, self._drawn_at = f.version, now
        c = f.curves
        if f.total_steps and self._x_range != f.total_steps:
            # the x axis spans the whole run, so its ticks are drawn once, not at every step
            self._x_range = f.total_steps
            self.plot.setXRange(0, f.total_steps, padding=0.02)
        self.train_curve.setData(c.train_steps, c.train_bpd)
        self.val_curve.setData(c.val_steps, c.val_bpd)
        self.figures["step"].setText("closed-form fit" if f.closed_form
                                     else f"{f.step:,} / {f.total_steps:,}")
        self.figures["train"].setText(f"{c.train_bpd[-1]:.4f}" if c.train_bpd else "–")
        self.figures["val"].setText(f"{c.val_bpd[-1]:.4f}" if c.val_bpd else "–")
        self.figures["test"].setText(f"{f.test_bpd:.4f}" if f.test_bpd is not None else "–")
        self.figures["speed"].setText(f"{f.examples_per_s:,.0f} ex/s" if f.examples_per_s else "–")
        self.figures["elapsed"].setText(format_seconds(f.elapsed))
        self.figures["device"].setText(f.device())
        self.figures["device"].setToolTip(f.device())  # a long GPU name may not fit its column
        params = f.parameters()
        self.figures["params"].setText(f"{params:,}" if params else "–")
        self._update_timeline()

    def _update_timeline(self) -> None:
        grids = self.follower.sample_grids()
        if not grids or len(grids) == len(self._grids):
            return
        following = not self._grids or self.timeline.value() == len(self._grids) - 1
        self._set_grids(grids)
        if following:  # scrubbed back: stay there; at the newest: keep following
            self.timeline.setValue(len(grids) - 1)
        self._show_grid(self.timeline.value())

    def _show_grid(self, index: int) -> None:
        if not 0 <= index < len(self._grids):
            return
        step, source = self._grids[index]
        pix = pixmap_from_rgb(source) if isinstance(source, np.ndarray) else QPixmap(str(source))
        if pix.isNull():
            return  # written atomically, so this is a file removed under us; the next tick retries
        self._pixmap = pix
        self.shown_step = step
        self.timeline_label.setText(f"{self._grid_prefix} at step {step:,}  "
                                    f"({index + 1} of {len(self._grids)} saved)")
        self._redraw()
        self.sample_shown.emit(step)

    def _redraw(self) -> None:
        if self._pixmap is not None:
            self.image.setPixmap(self._pixmap.scaled(self.image.width(), self.image.height(),
                                                     Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.FastTransformation))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._redraw()
