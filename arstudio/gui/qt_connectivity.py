"""MADE-style mask connectivity: every layer's mask and which inputs reach which outputs.

One image per masked layer (white = connection kept, rows = the layer's
outputs, columns = its inputs), then the input->output reachability, the
boolean product of the masks. With rows and columns put in the model's order
("in generation order"), an autoregressive model shows a strictly
lower-triangular reachability: output i never sees input i or later.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget
from shiboken6 import isValid

from arstudio.gui.layouts import left_row
from arstudio.gui.workers import run_job

KEPT_RGB, CUT_RGB = (235, 235, 235), (30, 30, 40)
REACH_RGB = (0, 190, 230)


def compute_connectivity(path) -> dict:
    """Runs in a worker: the masks and reachability of a checkpoint's model, as NumPy
    (None for a model without masked linear layers)."""
    from arstudio.checkpoint import load_checkpoint
    from arstudio.inspect.connectivity import has_masks, mask_connectivity

    model = load_checkpoint(Path(path))
    if not has_masks(model):
        return None
    c = mask_connectivity(model)
    return {"names": c.names, "masks": c.masks, "reach": c.reach, "order": c.order}


def sort_hidden_units(names: list[str], masks: list[np.ndarray]) -> list[np.ndarray]:
    """Reorder every hidden layer's units by how many inputs reach them (MADE's degree).

    Only a relabelling: each hidden permutation is applied to the rows of the
    mask into the layer and the columns of the mask out of it, so the product
    (reachability) is unchanged and the masks show MADE's staircase."""
    chain = [i for i, n in enumerate(names) if n != "direct"]
    out = [m.copy() for m in masks]
    reach = np.eye(masks[chain[0]].shape[1], dtype=np.int64)  # (features, inputs) reached so far
    for a, b in itertools.pairwise(chain):  # the units between mask a and mask b are hidden
        reach = (out[a].astype(np.int64) @ reach > 0).astype(np.int64)  # (hidden, inputs)
        perm = np.argsort(reach.sum(1), kind="stable")
        out[a], out[b], reach = out[a][perm], out[b][:, perm], reach[perm]
    return out


def bool_rgb(m: np.ndarray, on=KEPT_RGB) -> np.ndarray:
    """(rows, cols) bool -> (rows, cols, 3) uint8."""
    out = np.empty((*m.shape, 3), dtype=np.uint8)
    out[:] = CUT_RGB
    out[m] = on
    return out


class ConnectivityPanel(QWidget):
    message = Signal(str)
    updated = Signal()
    available = Signal(bool)  # whether the current model has masks to show

    def __init__(self, parent=None):
        super().__init__(parent)
        self.data: dict | None = None
        self._serial = 0  # of the latest model request
        self.title = QLabel("no masked-linear model")
        self.title.setWordWrap(True)
        self.in_order = QCheckBox("reachability in generation order")
        self.in_order.setChecked(True)
        self.in_order.toggled.connect(lambda _on: self._draw())
        self.sorted = QCheckBox("sort hidden units by how many inputs reach them")
        self.sorted.setChecked(True)
        self.sorted.toggled.connect(lambda _on: self._draw())
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground((20, 20, 26))
        self.images: list[pg.ImageItem] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        row = left_row(self.in_order, self.sorted)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)

    def set_model(self, path, meta: dict):
        self.title.setText(f"{meta['model']}: loading masks…")
        self.data = None
        self.view.clear()
        self._serial += 1
        serial = self._serial  # only the latest model's answer is shown
        run_job(compute_connectivity, path,
                on_done=lambda d: isValid(self) and serial == self._serial and self._arrived(meta, d),
                on_error=lambda text: isValid(self) and serial == self._serial and self._failed(text))

    def _failed(self, text: str):
        if not isValid(self):  # the window closed while the job ran
            return
        self.title.setText(f"no mask connectivity: {text}")
        self.available.emit(False)

    def _arrived(self, meta, data):
        if not isValid(self):
            return
        if data is None:
            self._failed(f"{meta['model']} has no masked linear layers")
            return
        self.data = data
        D = len(data["order"])
        self.title.setText(f"{meta['model']}: {len(data['masks'])} masked layers, D = {D}. "
                           "White: connection kept (rows = outputs, columns = inputs); "
                           "cyan: output dimension i can see input dimension j.")
        self._draw()
        self.available.emit(True)

    def reach_shown(self) -> np.ndarray:
        """The reachability matrix as drawn now: (D, D) bool."""
        r, order = self.data["reach"], self.data["order"]
        return r[np.ix_(order, order)] if self.in_order.isChecked() else r

    def _draw(self):
        if self.data is None:
            return
        self.view.clear()
        self.images = []
        names = self.data["names"]
        masks = sort_hidden_units(names, self.data["masks"]) if self.sorted.isChecked() else self.data["masks"]
        self.masks_shown = masks
        panels = [(f"mask {name} {m.shape[0]}×{m.shape[1]}", bool_rgb(m)) for name, m in zip(names, masks)]
        which = "in generation order" if self.in_order.isChecked() else "by dimension"
        panels.append((f"reachability (outputs × inputs, {which})", bool_rgb(self.reach_shown(), REACH_RGB)))
        for col, (label, rgb) in enumerate(panels):
            vb = self.view.addViewBox(row=1, col=col, lockAspect=False, invertY=True)
            self.view.addLabel(label, row=0, col=col, size="9pt")
            image = pg.ImageItem(np.transpose(rgb, (1, 0, 2)))  # ImageItem wants (x=cols, y=rows)
            vb.addItem(image)
            vb.setMouseEnabled(x=True, y=True)
            vb.autoRange(padding=0.02)
            self.images.append(image)
        self.updated.emit()
