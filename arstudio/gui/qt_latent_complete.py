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
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from arstudio.gui.latent_views import CodeGridView, LatentRunPanel
from arstudio.gui.layouts import left_row, titled


class LatentCompletePanel(LatentRunPanel):
    completed = Signal()

    def __init__(self, canvas_panel, parent=None):
        super().__init__(noun="completion", most=8, count=4, columns=2, button="Complete codes",
                         failed="completion failed", parent=parent)
        self.canvas_panel = canvas_panel
        self.canvas = canvas_panel.canvas
        self.test = None
        self._example = 0

        self.codes_view = CodeGridView(min_cell=12)
        self.codes_note = QLabel("")
        self.codes_note.setWordWrap(True)
        self.button.clicked.connect(self.complete)
        self.canvas.changed.connect(self.show_canvas_codes)
        canvas_panel.load_example_requested.connect(self.load_example)

        middle = titled("The canvas's codes (magenta: unknown,\nthe prior fills them in)", self.codes_view,
                        self.codes_note)
        right = QVBoxLayout()
        row = left_row(self.count, self.temperature, self.button)
        right.addLayout(row)
        right.addWidget(self.controls)
        right.addLayout(self.grid, 1)
        right.addWidget(self.progress)
        layout = QHBoxLayout(self)
        layout.addWidget(canvas_panel, 3)
        layout.addLayout(middle, 2)
        layout.addLayout(right, 3)

    def set_pair(self, path, pair, test_images):
        self._show_pair(path, pair)
        self.test = test_images
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

    def complete(self):
        if self.pair is None:
            self.message.emit("no latent model loaded yet")
            return
        known = ~self.canvas.unknown
        if known.all():
            self.message.emit("nothing to complete: paint some pixels 'unknown' first")
            return
        n = self.start_run("complete", image=self.canvas.values.copy(), known=known.copy())
        self.message.emit(f"completing {int(self.canvas_codes()[1].sum())} codes, {n} times…")

    def _done(self, s: dict):
        self.message.emit(f"{len(self.views)} completions in code space")
        self.completed.emit()
