"""Completion in code space: paint or erase part of an image, mark a region unknown, and
watch the prior complete the codes that region touches, code by code, each step decoded.

The canvas (with its tools) is handed in by the tab, so this panel never imports another
panel. Beside it, the canvas's own code grid: the encoder's code of every region, and in
magenta the codes that become unknown because they cover an unknown pixel. The prior
fills those in raster order (a plain thread, :class:`~arstudio.gui.latent_run.LatentRun`);
every completion shows its decoded image (known pixels kept) above its code grid.
"""
from __future__ import annotations

import numpy as np
import torch
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
from arstudio.gui.latent_views import CodeGridView, PairView, RunControls

COLUMNS = 2


class LatentCompletePanel(QWidget):
    message = Signal(str)
    completed = Signal()
    inspect_requested = Signal(object, object)  # image (C, H, W), codes (h, w): NumPy

    def __init__(self, canvas_panel, parent=None):
        super().__init__(parent)
        self.canvas_panel = canvas_panel
        self.canvas = canvas_panel.canvas
        self.path = self.pair = self.test = None
        self.views: list[PairView] = []
        self.result: dict | None = None
        self.frames = 0
        self._seed = 0
        self._example = 0

        self.codes_view = CodeGridView(min_cell=12)
        self.codes_note = QLabel("")
        self.codes_note.setWordWrap(True)
        self.count = QSpinBox(minimum=1, maximum=8, value=4, prefix="completions ")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0,
                                          prefix="temperature ")
        self.button = QPushButton("Complete codes")
        self.button.clicked.connect(self.complete)
        self.controls = RunControls()
        self.controls.frame.connect(self._frame)
        self.controls.done.connect(self._done)
        self.controls.failed.connect(lambda text: self.message.emit(f"completion failed: {text}"))
        self.progress = QLabel("")
        self.canvas.changed.connect(self.show_canvas_codes)
        canvas_panel.load_example_requested.connect(self.load_example)

        middle = QVBoxLayout()
        middle.addWidget(QLabel("The canvas's codes (magenta: unknown,\nthe prior fills them in)"))
        middle.addWidget(self.codes_view, 1)
        middle.addWidget(self.codes_note)
        self.grid = QGridLayout()
        right = QVBoxLayout()
        row = QHBoxLayout()
        for w in (self.count, self.temperature, self.button):
            row.addWidget(w)
        row.addStretch(1)
        right.addLayout(row)
        right.addWidget(self.controls)
        right.addLayout(self.grid, 1)
        right.addWidget(self.progress)
        layout = QHBoxLayout(self)
        layout.addWidget(canvas_panel, 3)
        layout.addLayout(middle, 2)
        layout.addLayout(right, 3)

    def set_pair(self, path, pair, test_images):
        self.controls.stop_run()
        self.path, self.pair, self.test = path, pair, test_images
        self.result = None
        self._make_views(0)
        c, h, w = pair.spec.shape
        self.canvas_panel.set_shape(c, h, w, pair.spec.levels)
        self.load_example(unknown_rows=h // 2)

    def load_example(self, unknown_rows: int = 0):
        """A test image of the VQ-VAE's data; its lower ``unknown_rows`` rows unknown."""
        if self.test is None:
            return
        i = self._example % len(self.test)
        self._example += 7
        values = self.test[i].numpy()
        unknown = np.zeros(values.shape[1:], bool)
        if unknown_rows:
            unknown[-unknown_rows:] = True
        self.canvas.set_image(values, unknown)
        self.show_canvas_codes()
        self.message.emit(f"test image {i}: paint 'unknown' over what the prior should redraw")

    def canvas_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """The encoder's codes of the canvas (h, w) and which of them are unknown (h, w)."""
        x = torch.as_tensor(self.canvas.values).long().unsqueeze(0).to(self.pair.vqvae.device)
        with torch.no_grad():
            codes = self.pair.vqvae.encode(x)[0].cpu().numpy()
        pending = ~self.pair.code_mask_for(torch.as_tensor(~self.canvas.unknown)).numpy()
        return codes, pending

    def show_canvas_codes(self):
        if self.pair is None or self.canvas.values.shape != tuple(self.pair.spec.shape):
            return
        codes, pending = self.canvas_codes()
        self.codes_view.set_codes(codes, self.pair.vqvae.config.codes, pending)
        f = self.pair.factor
        self.codes_note.setText(f"{int(pending.sum())} of {pending.size} codes unknown (each code is "
                                f"{f}×{f} pixels; one unknown pixel makes its code unknown)")

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

    def complete(self):
        if self.pair is None:
            self.message.emit("no latent model loaded yet")
            return
        known = ~self.canvas.unknown
        if known.all():
            self.message.emit("nothing to complete: paint some pixels 'unknown' first")
            return
        n = self.count.value()
        self._make_views(n)
        self.result = None
        self.frames = 0
        self._seed += 1
        run = LatentRun(self.path, "complete", n, self.temperature.value(), self._seed,
                        self.controls.codes_per_second(), image=self.canvas.values.copy(), known=known.copy())
        self.controls.start(run)
        self.message.emit(f"completing {int(self.canvas_codes()[1].sum())} codes, {n} times…")

    def _frame(self, s: dict):
        self.frames += 1
        _h, w = self.pair.code_shape
        current = divmod(s["index"], w)
        k, levels, f = self.pair.vqvae.config.codes, self.pair.spec.levels, self.pair.factor
        for i, v in enumerate(self.views[:len(s["codes"])]):
            v.show_step(s["images"][i], levels, s["codes"][i], k, s["pending"], f, current)
        self.progress.setText(f"code {s['step'] + 1} of {s['total']}")

    def _done(self, s: dict):
        self.result = s
        for i, v in enumerate(self.views):
            v.grid.set_highlight(None)
            v.caption.setText(f"completion {i + 1}")
        self.message.emit(f"{len(self.views)} completions in code space")
        self.completed.emit()

    def _chosen(self, i: int):
        if self.result is not None:
            self.inspect_requested.emit(np.array(self.result["images"][i]), np.array(self.result["codes"][i]))
