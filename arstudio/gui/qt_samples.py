"""Samples panel: pick a bundled model and look at a fresh grid of its samples.

Sampling runs in a pool thread (see workers.py); the panel only shows results.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio.bundled import BundledModel, list_bundled
from arstudio.gui.qimage import pixmap_from_rgb
from arstudio.gui.workers import run_job


def sample_grid(path, n: int, temperature: float, seed: int) -> np.ndarray:
    """Runs in a worker thread: checkpoint -> samples -> RGB grid (NumPy only out)."""
    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.imaging import grid

    model = load_checkpoint(path)
    if str(model.checkpoint_meta.get("dataset", "")).startswith("vqcodes:"):  # a VQ-VAE prior:
        from arstudio.training.codes import load_latent  # prior -> codes -> decoder

        pair = load_latent(path)
        x = pair.sample(n, temperature=temperature, generator=torch.Generator().manual_seed(seed))
        return grid(x.cpu(), pair.spec.levels, cols=int(np.ceil(np.sqrt(n))))
    x = model.sample(n, temperature=temperature, generator=torch.Generator().manual_seed(seed))
    if model.spec.modality != "image":
        x = x.view(n, 1, 1, -1)
    return grid(x.cpu(), model.spec.levels, cols=int(np.ceil(np.sqrt(n))))


class SamplesPanel(QWidget):
    message = Signal(str)  # status-bar text
    samples_ready = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.damaged: list[tuple] = []  # (path, reason): listed, greyed out, never opened
        self.models: list[BundledModel] = list_bundled(damaged=self.damaged)
        self.grid_array: np.ndarray | None = None
        self._busy = False
        self._seed = 0

        self.list = QListWidget()
        self.list.setMaximumWidth(320)
        for m in self.models:
            item = QListWidgetItem(m.title)
            item.setToolTip(str(m.path))
            self.list.addItem(item)
        for path, why in self.damaged:  # after the good ones, so rows still index self.models
            item = QListWidgetItem(f"{path.stem} (damaged)")
            item.setToolTip(why)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        self.list.currentRowChanged.connect(lambda _row: self.resample())

        self.image = QLabel("no bundled model found in models/")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.setMinimumSize(256, 256)

        self.count = QSpinBox(minimum=1, maximum=64, value=16)
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0)
        self.button = QPushButton("New samples")
        self.button.setShortcut("Ctrl+R")
        self.button.clicked.connect(self.resample)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Samples"))
        controls.addWidget(self.count)
        controls.addWidget(QLabel("Temperature"))
        controls.addWidget(self.temperature)
        controls.addStretch(1)
        controls.addWidget(self.button)
        right = QVBoxLayout()
        right.addWidget(self.image, 1)
        right.addLayout(controls)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(right, 1)

    def start(self):
        if self.models:
            # open on an image model that is quick to sample (fewest dimensions, then the
            # most grey levels): the first grid is on screen in a second, and the worker
            # pool stays free for the other panels
            def opening(i):
                spec = self.models[i].metadata["spec"]
                return (spec.get("modality") != "image", self.models[i].num_dims, -(spec.get("levels") or 0), i)

            quickest = min(range(len(self.models)), key=opening)
            self.list.setCurrentRow(quickest)  # triggers the first grid

    def current(self) -> BundledModel | None:
        row = self.list.currentRow()
        return self.models[row] if 0 <= row < len(self.models) else None

    def resample(self):
        model = self.current()
        if model is None or self._busy:
            return
        self._busy = True
        self.button.setEnabled(False)
        self._seed += 1
        self.message.emit(f"sampling {self.count.value()} images from {model.model}…")
        run_job(sample_grid, model.path, self.count.value(), self.temperature.value(), self._seed,
                on_done=self._show, on_error=self._failed, owner=self)

    def _show(self, array):
        self._busy = False
        self.button.setEnabled(True)
        self.grid_array = array
        self._redraw()
        self.message.emit("ready")
        self.samples_ready.emit()

    def _failed(self, text):
        self._busy = False
        self.button.setEnabled(True)
        self.message.emit(f"sampling failed: {text}")

    def _redraw(self):
        if self.grid_array is not None:
            self.image.setPixmap(pixmap_from_rgb(self.grid_array, self.image.width(), self.image.height()))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._redraw()
