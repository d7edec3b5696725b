"""Prior samples of a latent AR model: each decoded image beside its code grid.

The prior generates the code grids code by code (in a plain thread,
:class:`~arstudio.gui.latent_run.LatentRun`) and every step is decoded, so the images
sharpen as their codes arrive; codes still to come are magenta. A click on a finished
sample sends it to the code-grid inspector (``inspect_requested``).
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout

from arstudio.gui.latent_views import LatentRunPanel
from arstudio.gui.layouts import left_row


class LatentSamplesPanel(LatentRunPanel):
    finished = Signal()

    def __init__(self, parent=None):
        super().__init__(noun="sample", most=16, count=8, columns=4, button="Sample codes",
                         failed="sampling failed", parent=parent)
        self.button.clicked.connect(self.sample)
        top = left_row(self.count, self.temperature, self.button, self.controls)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("prior → code grid, code by code → decoder; click a sample to inspect its codes"))
        layout.addLayout(self.grid, 1)
        layout.addWidget(self.progress)

    def set_pair(self, path, pair):
        self._show_pair(path, pair)

    def sample(self):
        if self.pair is None:
            self.message.emit("no latent model loaded yet")
            return
        n = self.start_run("sample")
        self.message.emit(f"sampling {n} code grids…")

    def _done(self, s: dict):
        self.message.emit(f"{len(self.views)} samples: prior → {s['total']} codes each → decoder")
        self.finished.emit()
