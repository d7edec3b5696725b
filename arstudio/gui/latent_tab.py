"""The Latent tab: a VQ-VAE with an autoregressive prior over its code grid, explored
three ways.

- **Samples**: the prior draws code grids code by code; each decoded image beside its grid.
- **Complete**: paint or erase, mark a region unknown; the codes it touches become unknown
  and the prior completes them in order, each step decoded.
- **Code grid**: click a code for its pixel region, its conditional over the codebook (the
  likeliest codes with their entries decoded) and its own entry decoded alone.

The tab picks the pair (a bundled prior trained on ``vqcodes:``; the VQ-VAE is the one its
data names), loads it in a pool thread on first sight, and hands it to the three panels;
a sample or a completion clicked in the first two opens in the inspector. It follows
``state.checkpoint`` when that is one of the pairs' priors.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from arstudio.bundled import list_bundled
from arstudio.gui.latent_run import load_pair
from arstudio.gui.qt_canvas import CanvasPanel
from arstudio.gui.qt_latent_codes import CodeInspectorPanel
from arstudio.gui.qt_latent_complete import LatentCompletePanel
from arstudio.gui.qt_latent_samples import LatentSamplesPanel
from arstudio.gui.workers import run_job


class LatentTab(QWidget):
    message = Signal(str)
    loaded = Signal()

    def __init__(self, state=None, parent=None):
        super().__init__(parent)
        self.priors = [b for b in list_bundled() if str(b.dataset).startswith("vqcodes:")]
        self.pair = None
        self._asked = False

        self.choice = QComboBox()
        for b in self.priors:
            self.choice.addItem(f"{b.key}  (VQ-VAE {b.dataset.split(':', 1)[1]} + {b.model} prior)", str(b.path))
        self.choice.currentIndexChanged.connect(lambda _i: self._asked and self.load())
        self.about = QLabel("")
        self.about.setWordWrap(True)

        self.samples = LatentSamplesPanel()
        self.canvas = CanvasPanel()
        self.canvas.set_tool("unknown")
        self.complete = LatentCompletePanel(self.canvas)
        self.codes = CodeInspectorPanel()
        self.views = QTabWidget()
        self.views.addTab(self.samples, "Samples")
        self.views.addTab(self.complete, "Complete in code space")
        self.views.addTab(self.codes, "Code grid")
        for panel in (self.samples, self.complete, self.codes):
            panel.message.connect(self.message)
        self.samples.inspect_requested.connect(lambda image, codes: self.inspect(image, codes, "a prior sample"))
        self.complete.inspect_requested.connect(lambda image, codes: self.inspect(image, codes, "a completion"))

        top = QHBoxLayout()
        top.addWidget(QLabel("Latent model"))
        top.addWidget(self.choice, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.about)
        layout.addWidget(self.views, 1)
        if state is not None:
            state.subscribe("checkpoint", self._checkpoint_chosen)

    def showEvent(self, event):  # load on first sight: nothing is read until the tab is seen
        super().showEvent(event)
        if not self._asked:
            self._asked = True
            if self.priors:
                self.load()
            else:
                self.about.setText("no bundled latent model (a prior trained on vqcodes:) in models/")

    def _checkpoint_chosen(self, path):
        i = self.choice.findData(str(path)) if path is not None else -1
        if i >= 0:
            self.choice.setCurrentIndex(i)

    def load(self):
        path = self.choice.currentData()
        if path is None:
            return
        self.message.emit("loading the VQ-VAE and its prior…")
        run_job(load_pair, Path(path), on_done=lambda r, p=Path(path): self._loaded(p, r),
                on_error=lambda text: self.message.emit(f"loading the latent model failed: {text}"), owner=self)

    def _loaded(self, path, result):
        pair, test, data_name = result
        if str(path) != self.choice.currentData():
            return  # another pair was chosen meanwhile; its own load follows
        self.pair = pair
        h, w = pair.code_shape
        f, k = pair.factor, pair.vqvae.config.codes
        self.about.setText(f"{pair.spec.describe()} of {data_name} ↔ a {h}×{w} grid of codes from a codebook of {k} "
                           f"(each code stands for {f}×{f} pixels); prior: {pair.prior.registry_name}")
        self.samples.set_pair(path, pair)
        self.complete.set_pair(path, pair, test)
        self.codes.set_pair(pair, test)
        self.message.emit("ready")
        self.loaded.emit()

    def inspect(self, image, codes, caption: str):
        self.codes.set_image(image, codes, f"{caption}; its codes from the prior")
        self.views.setCurrentWidget(self.codes)
