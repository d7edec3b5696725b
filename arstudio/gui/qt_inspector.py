"""The inspector: what the model believed at one pixel, what it looked at, what surprised it.

Click a pixel: a bar chart of p(x_i | x_<i) over the levels (or the density
curve for real-valued mixtures; for a discretized logistic mixture, as in
PixelCNN++, also each weighted component as a dashed curve), updated live while a completion animates;
hovering a bar shows its value. Overlays on the inspected image: the
receptive field of the clicked output (autograd on the actual model and
input) or the surprise map, -log2 p(x_i | x_<i) per pixel with the total in
bits/dim.

The model work runs in ``InspectorEngine``, one background thread that owns
its own copy of the model and always answers only the latest request; the
panel polls its answer from a ~30 Hz timer. NumPy goes in and out.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QSpinBox, QVBoxLayout, QWidget

from arstudio.gui.conditional_chart import conditional_items, conditional_plot, show_conditional
from arstudio.gui.pixelview import PixelView, field_overlay, heat_map, levels_to_rgb


class InspectorEngine:
    """A worker thread: (checkpoint, image, index) -> conditional, receptive field, surprise map."""

    def __init__(self):
        self._lock = threading.Condition()
        self._request: dict | None = None
        self._result: dict | None = None
        self._stop = False
        self._model = None
        self._model_path: Path | None = None
        self._thread = threading.Thread(target=self._loop, name="arstudio-inspector", daemon=True)
        self._thread.start()

    def submit(self, **request):
        with self._lock:
            self._request = request  # replaces any request not yet started
            self._lock.notify()

    def take_result(self) -> dict | None:
        with self._lock:
            result, self._result = self._result, None
            return result

    def close(self, wait: float = 0.0):
        """Stop the thread; ``wait`` seconds for a computation in flight to finish."""
        with self._lock:
            self._stop = True
            self._lock.notify()
        if wait:
            self._thread.join(timeout=wait)

    def _loop(self):
        while True:
            with self._lock:
                while self._request is None and not self._stop:
                    self._lock.wait()
                if self._stop:
                    return
                request, self._request = self._request, None
            try:
                result = self._compute(**request)
            except Exception as e:  # noqa: BLE001 — shown in the panel, never a crash
                result = {"error": f"{type(e).__name__}: {e}", "serial": request.get("serial")}
            with self._lock:
                self._result = result

    def _compute(self, path, x, index, receptive=False, surprise=False, serial=0, label=None,
                 location=None):
        import torch

        from arstudio.checkpoint import load_checkpoint
        from arstudio.inspect.conditionals import nll_map, pixel_conditional
        from arstudio.inspect.receptive_field import receptive_field
        from arstudio.sampling.conditioning import conditioning

        if self._model_path != path:
            self._model, self._model_path = load_checkpoint(path), path
        model = self._model
        dtype = torch.long if model.spec.discrete else torch.float32
        xt = torch.as_tensor(np.asarray(x)).to(dtype)
        cond = conditioning(model, label, location)  # the class and the painted map, if it takes them
        c = pixel_conditional(model, xt, index, **cond)
        out = {"serial": serial, "index": index, "value": c.value, "log_prob": c.log_prob,
               "probs": c.probs, "grid": c.grid, "density": c.density,
               "weights": c.weights, "components": c.components}
        if receptive:
            field = receptive_field(model, xt, index, **cond).numpy()  # (C, H, W)
            out["receptive"] = field.sum(0) if field.ndim == 3 else field
        if surprise:
            bits = nll_map(model, xt, **cond).numpy()
            out["surprise"] = bits.sum(0) if bits.ndim == 3 else bits
            out["bits_per_dim"] = float(bits.mean())
        return out


class InspectorPanel(QWidget):
    updated = Signal()  # a new conditional is on the chart

    def __init__(self, parent=None):
        super().__init__(parent)
        self.engine = InspectorEngine()
        self.path: Path | None = None
        self.levels: int | None = 2
        self.image: np.ndarray | None = None  # (C, H, W) the inspected image
        self.pixel: tuple[int, int] | None = None
        self.last: dict | None = None  # the latest answer shown
        self._serial = 0
        self._dirty = False

        self.title = QLabel("click a pixel to see its conditional")
        self.title.setWordWrap(True)
        self.plot = conditional_plot("level", min_height=180)
        self.bars, self.curve, self.value_line = conditional_items(self.plot, (255, 200, 0), levels=2)
        # a discretized logistic mixture's components, π_m · P_m(level), one dashed curve each
        # (created once; as many as the largest mixture shown so far)
        self.component_curves: list = []
        self.hover = QLabel(" ")
        self.plot.scene().sigMouseMoved.connect(self._hovered)
        self.details = QLabel(" ")
        self.mixture = QLabel(" ")
        self.mixture.setWordWrap(True)

        self.view = PixelView(min_cell=3)
        self.view.pixel_clicked.connect(self.select_pixel)
        self.overlay_group = QButtonGroup(self)
        overlays = QHBoxLayout()
        self.overlay_buttons = {}
        for name in ("none", "receptive field", "surprise"):
            b = QRadioButton(name, objectName="overlay_" + name.replace(" ", "_"))  # a lesson sets these
            self.overlay_group.addButton(b)
            b.toggled.connect(self._overlay_changed)
            overlays.addWidget(b)
            self.overlay_buttons[name] = b
        self.overlay_buttons["none"].setChecked(True)
        self.channel = QSpinBox(minimum=0, maximum=0, prefix="channel ")
        self.channel.valueChanged.connect(lambda _v: self._request())
        self.bpd = QLabel(" ")
        self.bpd.setWordWrap(True)  # long lines wrap: the panel stays narrow enough for 1280 px

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.hover)
        layout.addWidget(self.details)
        layout.addWidget(self.mixture)
        layout.addLayout(overlays)
        layout.addWidget(self.channel)  # a row of its own: the panel stays narrow enough for 1280 px
        layout.addWidget(self.view, 3)
        layout.addWidget(self.bpd)

        self.timer = QTimer(self, interval=33)  # ~30 Hz: show only the latest answer
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    # --- inputs --------------------------------------------------------------------------------
    label: int | None = None  # the class a class-conditional model is inspected under
    location: np.ndarray | None = None  # the painted map a map-conditioned model is inspected under

    def set_model(self, path: Path | None, levels: int | None, channels: int):
        self.path, self.levels = path, levels
        self.channel.setMaximum(max(0, channels - 1))
        self.last = None

    def set_image(self, image: np.ndarray):
        """The image to inspect, (C, H, W); cheap to call at every animation frame."""
        self.image = np.array(image)
        self.view.set_rgb(levels_to_rgb(self.image, self.levels or 2) if self.levels else self._grey(self.image))
        self._request()

    def select_pixel(self, row: int, col: int):
        self.pixel = (row, col)
        self.view.set_highlight(self.pixel)
        self._request()

    @staticmethod
    def _grey(x):
        v = (x - x.min()) / max(float(x.max() - x.min()), 1e-8)
        return np.repeat((v[0] * 255).astype(np.uint8)[..., None], 3, axis=2)

    def flat_index(self) -> int:
        _, H, W = self.image.shape
        r, c = self.pixel
        return self.channel.value() * H * W + r * W + c

    def overlay_mode(self) -> str:
        return next(n for n, b in self.overlay_buttons.items() if b.isChecked())

    def _overlay_changed(self, on: bool):
        if on:
            self.view.set_overlay(None)
            self._request()

    def _request(self):
        if self.path is None or self.image is None or self.pixel is None:
            return
        self._serial += 1
        mode = self.overlay_mode()
        self.engine.submit(path=self.path, x=self.image.copy(), index=self.flat_index(),
                           receptive=mode == "receptive field", surprise=mode == "surprise",
                           serial=self._serial, label=self.label, location=self.location)

    # --- output --------------------------------------------------------------------------------
    def _poll(self):
        result = self.engine.take_result()
        if result is None:
            return
        if "error" in result:
            self.details.setText(f"cannot inspect: {result['error']}")
            return
        self.last = result
        r, c = self.pixel
        self.title.setText(f"pixel (row {r}, col {c}), channel {self.channel.value()}: p(x_i | x_<i)")
        self._show_components(result)
        show_conditional(self.plot, self.bars, self.curve, result)
        self.value_line.setValue(result["value"])
        bits = -result["log_prob"] / np.log(2.0)
        self.details.setText(f"value {result['value']:g}   p = {np.exp(result['log_prob']):.4f}   "
                             f"surprise {bits:.2f} bits")
        if "receptive" in result:
            self.view.set_overlay(field_overlay(result["receptive"]))
            seen = int((result["receptive"] > 0).sum())
            self.bpd.setText(f"receptive field: {seen} pixels reach this output (cyan; dimmed: no influence)")
        elif "surprise" in result:
            self.view.set_overlay(heat_map(result["surprise"]))
            self.bpd.setText(f"surprise map: {result['bits_per_dim']:.3f} bits/dim in all")
        else:
            self.bpd.setText(" ")
        self.updated.emit()

    COMPONENT_COLOURS = ((230, 90, 60), (60, 180, 90), (200, 120, 220), (240, 180, 40),
                         (70, 200, 210), (150, 150, 150))

    def _show_components(self, result):
        """The mixture's weighted components over the levels (PixelCNN++), or none."""
        weights, parts = result.get("weights"), result.get("components")
        M = 0 if weights is None else len(weights)
        while len(self.component_curves) < M:
            colour = self.COMPONENT_COLOURS[len(self.component_curves) % len(self.COMPONENT_COLOURS)]
            curve = pg.PlotDataItem(pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                                    symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=None)
            self.plot.addItem(curve)
            self.component_curves.append(curve)
        for m, curve in enumerate(self.component_curves):
            if m < M:
                curve.setData(np.arange(parts.shape[0]), weights[m] * parts[:, m])
            else:
                curve.setData([], [])
        self.mixture.setText(" " if M == 0 else
                             f"mixture of {M} discretized logistics (dashed: π_m · P_m(level); bars: "
                             "their sum) · π = " + ", ".join(f"{w:.2f}" for w in weights))

    def shown_components(self) -> np.ndarray:
        """(M, K) the component curves on the chart (empty when the output is no mixture)."""
        rows = [c.getData()[1] for c in self.component_curves if c.getData()[1] is not None
                and len(c.getData()[1])]
        return np.array(rows)

    def _hovered(self, pos):
        if self.last is None:
            return
        x = self.plot.getPlotItem().vb.mapSceneToView(pos).x()
        if self.last["probs"] is not None:
            k = round(x)
            if 0 <= k < len(self.last["probs"]):
                self.hover.setText(f"level {k}: p = {self.last['probs'][k]:.4f}")
        elif self.last["grid"] is not None:
            j = np.clip(np.searchsorted(self.last["grid"], x), 0, len(self.last["grid"]) - 1)
            self.hover.setText(f"x = {self.last['grid'][j]:.3f}: density {self.last['density'][j]:.4f}")

    def closeEvent(self, event):
        self.engine.close()
        super().closeEvent(event)
