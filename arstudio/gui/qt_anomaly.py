"""Anomaly view: does the model find other data surprising?

Pick a bundled image model (a class-conditional one scores both sets alike: with the
class summed out, p(x) = Σ_y p(x | y) / K, or under the class chosen beside it) and another set (built-in sets resized to the model's
size, noise, constant images, inverted or shifted test images, or a folder of your
own images). The view draws the bits/dim of the model's test split against the
other set as histograms, the ROC curves of the three scores (likelihood; the
likelihood ratio against a background model trained on perturbed inputs, Ren et al.
2019; the input-complexity correction with PNG, Serrà et al. 2020) with their
AUROC, and the most and least surprising examples with their surprise maps. The
preset "shapes" on the binary-MNIST models shows the classic failure: simpler
images from elsewhere get a higher likelihood than the model's own test digits.
Scoring (and training the background model) runs in a pool thread.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.bundle_box import BundledModelBox, ClassBox, discrete_image
from arstudio.gui.layouts import left_row
from arstudio.gui.pixelview import levels_to_rgb
from arstudio.gui.qimage import pixmap_from_rgb
from arstudio.gui.workers import run_job

OUT_SETS = ("shapes", "noise", "constant", "inverted", "shifted", "shapes-colour", "mnist5k", "digits")
SCORE_COLOURS = {"likelihood": (220, 90, 40), "ratio": (80, 120, 200), "complexity": (90, 170, 90)}
_BACKGROUNDS: dict[tuple, dict] = {}  # (model key, steps) -> background weights; used in pool threads only


def anomaly_job(path, key: str, dataset: str, out_name: str, n: int, bg_steps: int, label: int | None = None) -> dict:
    """Worker thread: score both sets (training a background model once per model and steps); a
    class-conditional model scores both under class ``label``, else with the class summed out."""
    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset
    from arstudio.inspect import anomaly

    model = load_checkpoint(path)
    background = None
    if bg_steps > 0:
        cached = _BACKGROUNDS.get((key, bg_steps))
        background = anomaly.train_background(model.spec, load_dataset(dataset).train[:2000], steps=bg_steps) \
            if cached is None else None
        if cached is None:
            _BACKGROUNDS[(key, bg_steps)] = {k: v.clone() for k, v in background.state_dict().items()}
        else:
            background = anomaly.background_model(model.spec)
            background.load_state_dict(cached)
            background.eval()
    return anomaly.compare(model, dataset, out_name, n, background, classes=label)


def with_map(image: np.ndarray, surprise: np.ndarray, levels: int, scale: int) -> np.ndarray:
    """(C, H, W) levels and bits -> one RGB strip: the image, then its surprise map (inferno)."""
    rgb = levels_to_rgb(image, levels)
    bits = surprise.sum(0)
    cmap = pg.colormap.get("inferno")
    heat = cmap.map(bits / max(float(bits.max()), 1e-6), mode="byte")[..., :3].reshape(*bits.shape, 3)
    gap = np.full((rgb.shape[0], 1, 3), 64, np.uint8)
    strip = np.concatenate([rgb, gap, heat.astype(np.uint8)], axis=1)
    return strip.repeat(scale, 0).repeat(scale, 1)


class AnomalyPanel(QWidget):
    message = Signal(str)
    scored = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self._busy = False
        self.model_box = BundledModelBox(discrete_image)
        self.out_box = QComboBox(editable=True)
        self.out_box.addItems(OUT_SETS)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self._pick_folder)
        self.count = QSpinBox(minimum=10, maximum=500, value=200, singleStep=50)
        self.bg_steps = QSpinBox(minimum=0, maximum=2000, value=100, singleStep=50)
        self.bg_steps.setToolTip("steps of the background model for the likelihood ratio (0: leave it out)")
        self.class_box = ClassBox("class summed out")  # class-conditional models: p(x) = Σ_y p(x|y)/K or one class
        self.model_box.currentIndexChanged.connect(lambda _i: self.class_box.set_model(self.model_box.current()))
        self.class_box.set_model(self.model_box.current())
        self.button = QPushButton("Score")
        self.button.clicked.connect(self.start)
        top = left_row(QLabel("Model"), self.model_box, self.class_box, QLabel("other data"), self.out_box, self.folder_button,
                       QLabel("examples"), self.count, QLabel("background steps"), self.bg_steps, self.button)

        self.hist = pg.PlotWidget(title="bits/dim: test set vs other data")
        self.hist.setLabel("bottom", "bits/dim")
        self.hist_legend = self.hist.addLegend()
        self.hist_in = self.hist.plot([0, 1], [0], stepMode="center", fillLevel=0, brush=(80, 120, 200, 120),
                                      name="test set")
        self.hist_out = self.hist.plot([0, 1], [0], stepMode="center", fillLevel=0, brush=(220, 90, 40, 120),
                                       name="other")
        self.roc_plot = pg.PlotWidget(title="ROC (other data = positives)")
        self.roc_plot.setLabel("bottom", "false-positive rate")
        self.roc_plot.setLabel("left", "true-positive rate")
        self.roc_legend = self.roc_plot.addLegend()
        self.roc_plot.plot([0, 1], [0, 1], pen=pg.mkPen((128, 128, 128), style=Qt.PenStyle.DashLine))
        self.curves = {k: self.roc_plot.plot([0], [0], pen=pg.mkPen(c, width=2), name=k)
                       for k, c in SCORE_COLOURS.items()}
        plots = QHBoxLayout()
        plots.addWidget(self.hist, 1)
        plots.addWidget(self.roc_plot, 1)

        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        grid = QGridLayout()
        grid.addWidget(QLabel("most surprising"), 0, 0)
        grid.addWidget(QLabel("least surprising"), 1, 0)
        self.example_labels = [[QLabel() for _ in range(4)] for _ in range(2)]
        for r, row in enumerate(self.example_labels):
            for c, lab in enumerate(row):
                grid.addWidget(lab, r, c + 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(plots, 1)
        layout.addWidget(self.verdict)
        layout.addLayout(grid)

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of images to score")
        if folder:
            self.out_box.setCurrentText(folder)

    def start(self) -> None:
        b = self.model_box.current()
        if b is None or self._busy:
            return
        self._busy = True
        self.button.setEnabled(False)
        steps = self.bg_steps.value()
        self.message.emit(f"scoring {self.out_box.currentText()} with {b.key}"
                          + (f" (training a background model, {steps} steps)…" if steps else "…"))
        run_job(anomaly_job, b.path, b.key, b.dataset, self.out_box.currentText(), self.count.value(), steps,
                self.class_box.label(), on_done=self._show, on_error=self._failed, owner=self)

    def _failed(self, text: str) -> None:
        self._busy = False
        self.button.setEnabled(True)
        self.message.emit(f"scoring failed: {text}")

    def _show(self, result: dict) -> None:
        self._busy = False
        self.button.setEnabled(True)
        self.result = result
        a, b = result["bpd_in"], result["bpd_out"]
        edges = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()) + 1e-9, 41)
        self.hist_in.setData(edges, np.histogram(a, edges)[0])
        self.hist_out.setData(edges, np.histogram(b, edges)[0])
        self.hist_legend.clear()
        self.hist_legend.addItem(self.hist_in, f"{result['in']}: mean {a.mean():.3f}")
        self.hist_legend.addItem(self.hist_out, f"{result['out']}: mean {b.mean():.3f}")
        self.roc_legend.clear()
        for k, item in self.curves.items():
            if k in result["curves"]:
                f, t, auc = result["curves"][k]
                item.setData(f, t)
                self.roc_legend.addItem(item, f"{k}: AUROC {auc:.3f}")
            else:
                item.setData([0], [0])
        self.verdict.setText(result["verdict"] + (f" ({result['classes']}; both sets alike)" if result.get("classes") else ""))
        levels, k = result["levels"], len(result["examples"]) // 2
        scale = max(1, 64 // result["examples"].shape[-1])
        for r in range(2):
            for c, lab in enumerate(self.example_labels[r]):
                j = r * k + c
                if j >= len(result["examples"]) or c >= k:
                    lab.clear()
                    continue
                lab.setPixmap(pixmap_from_rgb(with_map(result["examples"][j], result["maps"][j], levels, scale)))
                where = result["out"] if result["example_from_out"][j] else result["in"]
                lab.setToolTip(f"{where}: {result['example_bpd'][j]:.3f} bits/dim")
        self.message.emit(result["verdict"])
        self.scored.emit()
