"""Samples panel: pick a bundled model and look at a fresh grid of its samples.

Sampling runs in a pool thread (see workers.py); the panel only shows results.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
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
from arstudio.gui.speed_widgets import ClassPicker, LocationPicker, SpeedMeterWidget
from arstudio.gui.workers import run_job
from arstudio.sampling.orders import ORDERS, make_order
from arstudio.sampling.speed import model_facts


def class_labels(classes: int, n: int, label: int | None):
    """``label`` None: one row per class, ceil(n / classes) samples each -> (labels (N,), columns);
    otherwise every sample of class ``label``."""
    import torch

    if label is not None:
        return torch.full((n,), int(label)), int(np.ceil(np.sqrt(n)))
    per = max(1, int(np.ceil(n / classes)))
    return torch.arange(classes).repeat_interleave(per), per


def sample_grid(path, n: int, temperature: float, seed: int, sampler: str = "cached", meter=None,
                label: int | None = None, order=None, location=None) -> np.ndarray:
    """Runs in a worker thread: checkpoint -> samples -> RGB grid (NumPy only out).

    ``sampler``: the "cached" stepper or the "naive" path, timed into ``meter``
    (a :class:`~arstudio.sampling.speed.SpeedMeter`) when given. Class-conditional
    image models draw class ``label``, or one row per class when it is None;
    order-agnostic models generate in ``order`` when given; a model conditioned on a map
    (``local_map``) puts every sample where ``location`` (C, H, W) is painted."""
    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.imaging import grid
    from arstudio.sampling.speed import timed_sample

    model = load_checkpoint(path)
    generator = torch.Generator().manual_seed(seed)
    if str(model.checkpoint_meta.get("dataset", "")).startswith("vqcodes:"):  # a VQ-VAE prior:
        from arstudio.training.codes import load_latent  # prior -> codes -> decoder

        pair = load_latent(path)
        x = pair.sample(n, temperature=temperature, generator=generator)
        return grid(x.cpu(), pair.spec.levels, cols=int(np.ceil(np.sqrt(n))))
    cond, cols = {}, int(np.ceil(np.sqrt(n)))
    image = model.spec.modality == "image"
    if image and model.uses_labels:
        labels, cols = class_labels(model.num_labels, n, label)
        n, cond["label"] = len(labels), labels
    if image and model.local_map is not None:
        from arstudio.sampling.conditioning import conditioning

        cond["local"] = conditioning(model, location=location)["local"]
    if order is not None and model.order_agnostic:
        model.set_order(torch.as_tensor(np.asarray(order)))
    if meter is None:
        x = model.sample(n, temperature=temperature, generator=generator, naive=sampler == "naive", **cond)
    else:
        key = (str(path), n, temperature, seed, label, None if order is None else tuple(np.asarray(order).tolist()),
               None if location is None else hash(np.asarray(location).tobytes()))
        x = torch.as_tensor(timed_sample(model, n, sampler, meter, key, temperature, generator, **cond))
    if not image:
        x = x.view(n, 1, 1, -1)
    out = grid(x.cpu(), model.spec.levels, cols=cols)
    if "local" in cond:  # the painted place, dim orange under each sample's black pixels
        where = grid(cond["local"].cpu().amax(1, keepdim=True).expand(n, 1, -1, -1).gt(0).long(), 2, cols=cols)
        out = np.where((where == 255).all(-1, keepdims=True) & (out == 0).all(-1, keepdims=True),
                       np.array([70, 44, 10], np.uint8), out)
    return out


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
        self._facts: dict | None = None  # of the current model (model_facts), once known
        self._last: tuple | None = None  # (path, n, temperature, seed, label) of the last grid

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
        self.list.currentRowChanged.connect(self._model_changed)

        self.image = QLabel("no bundled model found in models/")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.setMinimumSize(256, 256)

        self.count = QSpinBox(minimum=1, maximum=64, value=16)
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0)
        self.button = QPushButton("New samples")
        self.button.setShortcut("Ctrl+R")
        self.button.clicked.connect(lambda _=False: self.resample())

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Samples"))
        controls.addWidget(self.count)
        controls.addWidget(QLabel("Temperature"))
        controls.addWidget(self.temperature)
        self.classes = ClassPicker(allow_all=True)  # class-conditional models only
        self.classes.changed.connect(self.resample)
        controls.addWidget(self.classes)
        self.location = LocationPicker()  # models conditioned on a map: where the digit goes
        self.location.changed.connect(self._location_changed)
        self._repaint_pending = False  # painted while a grid was being drawn: draw again after
        self.order_box = QComboBox(objectName="order")  # order-agnostic models only
        self.order_box.addItems([o for o in ORDERS if o != "painted"])  # painting is in Complete
        self.order_box.setToolTip("the generation order of an order-agnostic model (DeepNADE, MADE over orderings)")
        self.order_box.currentTextChanged.connect(lambda _t: self.resample())
        self.order_label = QLabel("Order")
        controls.addWidget(self.order_label)
        controls.addWidget(self.order_box)
        controls.addStretch(1)
        controls.addWidget(self.button)
        self.speed = SpeedMeterWidget()  # naive / cached, live px/s, speed-up, identical samples
        self.speed.rerun_requested.connect(self.rerun_other_path)
        right = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.image, 1)
        top.addWidget(self.location, 0, Qt.AlignmentFlag.AlignTop)
        right.addLayout(top, 1)
        right.addLayout(controls)
        right.addWidget(self.speed)
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

    def refresh_model(self):
        """Learn the current model's facts again and sample (after the list was set silently)."""
        self._model_changed(self.list.currentRow())

    def _model_changed(self, _row):
        """A new model: learn what it can do (off the GUI thread), then sample."""
        model = self.current()
        self._facts = None
        self.speed.reset()
        self.classes.set_classes(0)
        self.location.set_map(None)
        for w in (self.order_label, self.order_box):
            w.setVisible(False)
        if model is None:
            return
        run_job(model_facts, model.path, on_done=lambda f, p=model.path: self._facts_ready(p, f),
                on_error=self._failed, owner=self)

    def _facts_ready(self, path, facts):
        model = self.current()
        if model is None or model.path != path:
            return  # another model was chosen meanwhile
        self._facts = facts
        self.speed.set_cached_available(facts["cached"] and not facts["prior"], facts["name"])
        self.classes.set_classes(facts["classes"], source=path)
        self.location.set_map(facts["local_map"])
        for w in (self.order_label, self.order_box):
            w.setVisible(bool(facts["agnostic"]))
        self.resample()

    def resample(self, seed: int | None = None, sampler: str | None = None):
        model = self.current()
        if model is None or self._busy or self._facts is None:
            return
        self._busy = True
        self.button.setEnabled(False)
        self.speed.rerun.setEnabled(False)
        if seed is None:
            self._seed += 1
            seed = self._seed
        sampler = sampler or self.speed.path
        label = self.classes.label()
        order = make_order(self.order_box.currentText(), self._facts["shape"]) if self._facts["agnostic"] else None
        self._last = (model.path, seed)
        self.message.emit(f"sampling {self.count.value()} images from {model.model} ({sampler})…")
        run_job(sample_grid, model.path, self.count.value(), self.temperature.value(), seed, sampler,
                None if self._facts["prior"] else self.speed.meter, label, order, self.location.location(),
                on_done=self._show, on_error=self._failed, owner=self)

    def _location_changed(self):
        if self._busy:
            self._repaint_pending = True
        else:
            self.resample()

    def rerun_other_path(self):
        """The last grid again on the other path with the same seed: the meter then shows
        both rates and whether the samples are identical."""
        if self._last is None or self._last[0] != getattr(self.current(), "path", None):
            return
        other = self.speed.other_path()
        self.speed.set_path(other)
        self.resample(seed=self._last[1], sampler=other)

    def _show(self, array):
        self._busy = False
        self.button.setEnabled(True)
        self.speed.set_cached_available(self.speed.cached_available, "")
        self.speed.refresh()
        self.grid_array = array
        self._redraw()
        self.message.emit("ready")
        self.samples_ready.emit()
        if self._repaint_pending:
            self._repaint_pending = False
            self.resample()

    def _failed(self, text):
        self._busy = False
        self.button.setEnabled(True)
        self.speed.set_cached_available(self.speed.cached_available, "")
        self.message.emit(f"sampling failed: {text}")

    def _redraw(self):
        if self.grid_array is not None:
            self.image.setPixmap(pixmap_from_rgb(self.grid_array, self.image.width(), self.image.height()))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._redraw()
