"""The code-grid inspector of a latent AR model: an image, its reconstruction and its code
grid; click a code to see the pixels it stands for, the prior's conditional
p(z_i | z_<i) over the codebook (all of it as bars; the likeliest codes each decoded in
place: the grid with that code there, cropped to its pixels and a margin), and the
code's own codebook entry decoded alone (a 1×1 grid).

The image is a test image of the VQ-VAE's data (its codes: the encoder's) or a sample or
completion sent here from the other views (its codes: the prior's). One code's
conditional is one pass of the prior over a grid of a few dozen codes (milliseconds), so
it runs directly on the click.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QSpinBox, QVBoxLayout, QWidget

from arstudio.gui.conditional_chart import BAR_RGB, conditional_plot
from arstudio.gui.latent_views import CodeGridView, RegionView, code_palette, image_rgb
from arstudio.gui.layouts import titled
from arstudio.gui.pixelview import PixelView
from arstudio.gui.qimage import pixmap_from_rgb

TOP = 8  # codes listed with their decoded entries


class CodeInspectorPanel(QWidget):
    message = Signal(str)
    code_selected = Signal(int)  # flattened code index

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pair = self.test = None
        self.image: np.ndarray | None = None  # (C, H, W) levels
        self.codes: np.ndarray | None = None  # (h, w)
        self.index: int | None = None  # the selected code
        self.probs: np.ndarray | None = None  # its conditional (K,)
        self.entries: list[np.ndarray] = []  # each codebook entry decoded alone, (f, f, 3) RGB
        self.patches: dict[int, np.ndarray] = {}  # listed code -> its pixels decoded in this grid (RGB)

        self.source = QLabel("")
        self.test_number = QSpinBox(minimum=0, maximum=0, prefix="test image ")
        self.test_number.valueChanged.connect(self.show_test_image)
        self.picture = RegionView(min_cell=3)
        self.picture.pixel_clicked.connect(self.select_pixel)
        self.recon = PixelView(min_cell=3)
        self.grid = CodeGridView(min_cell=12)
        self.grid.pixel_clicked.connect(self.select_code)
        self.grid_bits = QLabel("")
        self.grid_bits.setWordWrap(True)

        self.title = QLabel("click a code (or a pixel) to see its conditional over the codebook")
        self.title.setWordWrap(True)
        self.plot = conditional_plot("code", min_height=150)
        self.bars = pg.BarGraphItem(x=np.arange(2), height=np.zeros(2), width=0.8, brushes=[BAR_RGB] * 2)
        self.plot.addItem(self.bars)
        self.top = QListWidget()
        self.top.setIconSize(QSize(40, 40))
        self.entry = PixelView(min_cell=8)
        self.entry_note = QLabel("")
        self.entry_note.setWordWrap(True)

        row = QHBoxLayout()
        row.addWidget(self.test_number)
        row.addWidget(self.source, 1)
        images = QHBoxLayout()
        for caption, view in (("image (the selected code's pixels framed)", self.picture),
                              ("reconstruction from the codes", self.recon)):
            images.addLayout(titled(caption, view), 1)
        left = QVBoxLayout()
        left.addLayout(row)
        left.addLayout(images, 3)
        left.addWidget(QLabel("code grid (click a code)"))
        left.addWidget(self.grid, 3)
        left.addWidget(self.grid_bits)
        entry = titled("its codebook entry decoded alone", self.entry, self.entry_note)
        lower = QHBoxLayout()
        lower.addWidget(self.top, 3)
        lower.addLayout(entry, 2)
        right = QVBoxLayout()
        right.addWidget(self.title)
        right.addWidget(self.plot, 2)
        right.addWidget(QLabel(f"the {TOP} likeliest codes, each decoded in place (its pixels and a one-code margin)"))
        right.addLayout(lower, 3)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 1)

    # --- inputs -----------------------------------------------------------------------------
    def set_pair(self, pair, test_images):
        self.pair, self.test = pair, test_images
        k = pair.vqvae.config.codes
        self.entries = [image_rgb(pair.decode_entry(j).cpu().numpy(), pair.spec.levels) for j in range(k)]
        self.bars.setOpts(x=np.arange(k), height=np.zeros(k), brushes=[tuple(c) for c in code_palette(k)])
        self.plot.setXRange(-0.5, k - 0.5, padding=0)
        self.test_number.setMaximum(len(test_images) - 1)
        self.show_test_image(self.test_number.value())

    def show_test_image(self, i: int):
        if self.pair is None:
            return
        image = self.test[i].numpy()
        x = torch.as_tensor(image).long().unsqueeze(0).to(self.pair.vqvae.device)
        with torch.no_grad():
            codes = self.pair.vqvae.encode(x)[0].cpu().numpy()
        self.set_image(image, codes, f"test image {i}; codes from the encoder")

    def set_image(self, image: np.ndarray, codes: np.ndarray, caption: str = "a sample; codes from the prior"):
        self.image, self.codes = np.array(image), np.array(codes, np.int64)
        self.source.setText(caption)
        levels, k = self.pair.spec.levels, self.pair.vqvae.config.codes
        self.picture.set_rgb(image_rgb(self.image, levels))
        with torch.no_grad():
            recon = self.pair.vqvae.decode_image(torch.as_tensor(self.codes).unsqueeze(0).to(self.pair.vqvae.device))
        self.recon.set_rgb(image_rgb(recon[0].cpu().numpy(), levels))
        self.grid.set_codes(self.codes, k)
        grid = torch.as_tensor(self.codes).view(1, 1, *self.codes.shape).to(self.pair.prior.device)
        with torch.no_grad():
            bits = -self.pair.prior.log_prob(grid).item() / math.log(2)
        self.grid_bits.setText(f"this grid under the prior: {bits:.1f} bits ({bits / self.codes.size:.2f} per code; "
                               f"uniform: {math.log2(k):.2f})")
        self.select(self.index if self.index is not None and self.index < self.codes.size else 0)

    def select_code(self, row: int, col: int):
        if self.codes is not None:
            self.select(row * self.codes.shape[1] + col)

    def select_pixel(self, row: int, col: int):
        if self.codes is None:
            return
        f, w = self.pair.factor, self.codes.shape[1]
        self.select((row // f) * w + col // f)

    def context_window(self, index: int) -> tuple[slice, slice]:
        """The code's pixels with one code's margin around them (clipped to the image)."""
        rows, cols = self.pair.code_region(index)
        f, (_c, height, width) = self.pair.factor, self.pair.spec.shape
        return (slice(max(0, rows.start - f), min(height, rows.stop + f)),
                slice(max(0, cols.start - f), min(width, cols.stop + f)))

    @torch.no_grad()
    def patches_in_context(self, index: int, candidates: list[int]) -> list[np.ndarray]:
        """For each candidate code: the grid decoded with that code at ``index``, cropped to
        the code's pixels and a one-code margin (RGB), i.e. what the candidate would draw there."""
        grids = torch.as_tensor(self.codes).repeat(len(candidates), 1, 1)
        grids.view(len(candidates), -1)[:, index] = torch.as_tensor(candidates)
        images = self.pair.vqvae.decode_image(grids.to(self.pair.vqvae.device)).cpu().numpy()
        rows, cols = self.context_window(index)
        return [image_rgb(x[:, rows, cols], self.pair.spec.levels) for x in images]

    def select(self, index: int):
        """Code ``index`` (flattened): its region, its conditional, its entry."""
        if self.pair is None or self.codes is None:
            return
        self.index = index
        w = self.codes.shape[1]
        r, c = divmod(index, w)
        rows, cols = self.pair.code_region(index)
        self.grid.set_highlight((r, c))
        self.picture.set_region((rows, cols))
        p = self.pair.code_conditional(torch.as_tensor(self.codes), index).cpu().numpy().astype(np.float64)
        self.probs = p
        actual = int(self.codes[r, c])
        self.bars.setOpts(height=p)
        self.plot.setYRange(0, max(float(p.max()), 1e-3) * 1.05, padding=0)
        self.title.setText(f"code ({r}, {c}) = {actual}: p = {p[actual]:.3f} ({-math.log2(max(p[actual], 1e-300)):.2f} "
                           f"bits) given the {index} code(s) before it; pixels rows {rows.start}–{rows.stop - 1}, "
                           f"columns {cols.start}–{cols.stop - 1}")
        self.top.clear()
        best = [int(j) for j in np.argsort(-p, kind="stable")[:TOP]]
        self.patches = dict(zip(best, self.patches_in_context(index, best)))
        for j in best:
            mark = "   ← this grid's code" if j == actual else ""
            self.top.addItem(f"code {j:>3}: {p[j]:6.1%}  ({-math.log2(max(p[j], 1e-300)):.2f} bits){mark}")
            self.top.item(self.top.count() - 1).setIcon(QIcon(pixmap_from_rgb(self.patches[j], 40, 40)))
        self.entry.set_rgb(self.entries[actual])
        self.entry_note.setText(f"code {actual} alone (a 1×1 grid through the decoder)")
        self.code_selected.emit(index)
