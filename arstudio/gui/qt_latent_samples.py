"""Prior samples of a latent AR model: each decoded image beside its code grid.

The prior generates the code grids code by code (in a plain thread,
:class:`~arstudio.gui.latent_run.LatentRun`) and every step is decoded, so the images
sharpen as their codes arrive; codes still to come are magenta. A click on a finished
sample sends it to the code-grid inspector (``inspect_requested``).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
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

from arstudio.gui.latent_run import LatentRun
from arstudio.gui.latent_views import PairView, RunControls

COLUMNS = 4


class LatentSamplesPanel(QWidget):
    message = Signal(str)
    finished = Signal()
    inspect_requested = Signal(object, object)  # image (C, H, W), codes (h, w): NumPy

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path = self.pair = None
        self.views: list[PairView] = []
        self.result: dict | None = None  # the last finished run's snapshot
        self.frames = 0  # snapshots drawn (the animation's frames)
        self._seed = 0

        self.count = QSpinBox(minimum=1, maximum=16, value=8, prefix="samples ")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0,
                                          prefix="temperature ")
        self.button = QPushButton("Sample codes")
        self.button.clicked.connect(self.sample)
        self.controls = RunControls()
        self.controls.frame.connect(self._frame)
        self.controls.done.connect(self._done)
        self.controls.failed.connect(lambda text: self.message.emit(f"sampling failed: {text}"))
        self.progress = QLabel("")

        top = QHBoxLayout()
        for w in (self.count, self.temperature, self.button, self.controls):
            top.addWidget(w)
        top.addStretch(1)
        self.grid = QGridLayout()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("prior → code grid, code by code → decoder; click a sample to inspect its codes"))
        layout.addLayout(self.grid, 1)
        layout.addWidget(self.progress)

    def set_pair(self, path, pair):
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
            self.grid.addWidget(v, i // COLUMNS, i % COLUMNS)
            self.views.append(v)

    def sample(self):
        if self.pair is None:
            self.message.emit("no latent model loaded yet")
            return
        n = self.count.value()
        self._make_views(n)
        self.result = None
        self.frames = 0
        self._seed += 1
        run = LatentRun(self.path, "sample", n, self.temperature.value(), self._seed,
                        self.controls.codes_per_second())
        self.controls.start(run)
        self.message.emit(f"sampling {n} code grids…")

    def _frame(self, s: dict):
        self.frames += 1
        _h, w = self.pair.code_shape
        r, c = divmod(s["index"], w)
        k, levels, f = self.pair.vqvae.config.codes, self.pair.spec.levels, self.pair.factor
        for i, v in enumerate(self.views[:len(s["codes"])]):
            v.show_step(s["images"][i], levels, s["codes"][i], k, s["pending"], f, (r, c))
        self.progress.setText(f"code {s['step'] + 1} of {s['total']}")

    def _done(self, s: dict):
        self.result = s
        for i, v in enumerate(self.views):
            v.grid.set_highlight(None)
            v.caption.setText(f"sample {i + 1}")
        self.message.emit(f"{len(self.views)} samples: prior → {s['total']} codes each → decoder")
        self.finished.emit()

    def _chosen(self, i: int):
        if self.result is None:
            return
        self.inspect_requested.emit(np.array(self.result["images"][i]), np.array(self.result["codes"][i]))
