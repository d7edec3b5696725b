"""For real-valued 2-D models: the model's density as a heat map, beside the data points.

The grid is computed in a worker (``density_job``: checkpoint + dataset ->
NumPy); the panel only draws it, with pyqtgraph items created once.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from arstudio.gui.workers import run_job


def density_job(path, dataset: str | None, steps: int = 120) -> dict:
    """Runs in a worker: the model's density on a grid covering the data, and the data (NumPy)."""
    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.inspect.density import density_grid

    model = load_checkpoint(path)
    points = np.zeros((0, 2), np.float32)
    if dataset:
        from arstudio.data.registry import load_dataset

        data = load_dataset(dataset)
        if data.spec == model.spec:
            points = data.test.float().numpy()
    if len(points):
        lo, hi = points.min(0), points.max(0)
        pad = 0.15 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = np.array([-3.0, -3.0]), np.array([3.0, 3.0])
    grid = density_grid(model, lo, hi, steps)
    nll = None
    if len(points):
        with torch.no_grad():
            nll = float(-model.log_prob(torch.as_tensor(points)).mean())
    return {"xs": grid.xs, "ys": grid.ys, "density": grid.density, "points": points,
            "mass": grid.mass(), "nll": nll}


class DensityPanel(QWidget):
    ready = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self.title = QLabel("model density (heat map) and test points (white)")
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.scatter = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(255, 255, 255, 90))
        self.plot.addItem(self.image)
        self.plot.addItem(self.scatter)
        self.summary = QLabel(" ")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.plot, 1)
        layout.addLayout(row, 1)
        layout.addWidget(self.summary)

    def load(self, path: Path, dataset: str | None):
        self.summary.setText("computing the density…")
        run_job(density_job, path, dataset, on_done=self.show_result,
                on_error=lambda t: self.summary.setText(f"cannot draw the density: {t}"), owner=self)

    def show_result(self, result: dict):
        self.result = result
        xs, ys = result["xs"], result["ys"]
        self.image.setImage(result["density"])  # axis 0 runs along x, axis 1 along y
        dx, dy = xs[1] - xs[0], ys[1] - ys[0]
        self.image.setRect(pg.QtCore.QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys)))
        points = result["points"]
        self.scatter.setData(points[:, 0], points[:, 1]) if len(points) else self.scatter.clear()
        text = f"probability inside the view {result['mass']:.3f}"
        if result["nll"] is not None:
            text += f" · test NLL {result['nll']:.3f} nats per point"
        self.summary.setText(text)
        self.ready.emit()
