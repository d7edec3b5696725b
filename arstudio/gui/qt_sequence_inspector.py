"""Inspect a sequence model on a timeline: click a time step, see what the model believed there.

Top: the sequence (a sample from the model or a dataset example) as a
waveform; the clicked step t is marked and the steps its conditional depends
on (autograd on the real model and input) are shaded, darker where the
gradient is larger. Middle, for WaveNet-style models: the dilation tree of
output t, one row of dots per layer joined to the steps they read. Bottom:
p(x_t | x_<t) as bars over the levels (or the density of a real-valued
mixture). The model work runs in pool threads (``run_job``): NumPy in, NumPy
out; only the answer to the latest click is shown.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget
from shiboken6 import isValid

from arstudio.gui.completion_run import example_image
from arstudio.gui.conditional_chart import conditional_items, conditional_plot, show_conditional
from arstudio.gui.layouts import left_row
from arstudio.gui.workers import run_job

FIELD_RGB = (0, 190, 230)
STEP_RGB = (255, 170, 0)


def load_model(path):
    from arstudio.checkpoint import load_checkpoint

    return load_checkpoint(Path(path))


def sample_sequence(path, seed: int):
    """Runs in a worker: one sample of the model as NumPy (T,), and a caption."""
    import torch

    model = load_model(path)
    x = model.sample(1, generator=torch.Generator().manual_seed(seed))[0]
    return x.cpu().numpy(), f"a sample of the model (seed {seed})"


def inspect_step(path, x: np.ndarray, t: int) -> dict:
    """Runs in a worker: conditional, receptive field and dilation tree of step t."""
    import torch

    from arstudio.inspect.conditionals import pixel_conditional
    from arstudio.inspect.sequence import dilation_tree, has_dilation_tree, sequence_receptive_field

    model = load_model(path)
    xt = torch.as_tensor(x)
    c = pixel_conditional(model, xt, t)
    answer = {"t": t, "value": c.value, "log_prob": c.log_prob, "probs": c.probs,
              "grid": c.grid, "density": c.density, "field": None, "field_error": None, "tree": None}
    try:
        answer["field"] = sequence_receptive_field(model, xt, t).numpy()
    except ValueError as e:
        answer["field_error"] = str(e)
    if has_dilation_tree(model):
        tree = dilation_tree(model, len(x), t)
        answer["tree"] = {"names": tree.names, "levels": tree.levels, "edges": tree.edges}
    return answer


class SequenceInspectorPanel(QWidget):
    message = Signal(str)
    sequence_ready = Signal()
    updated = Signal()  # a new answer is on screen

    def __init__(self, state=None, parent=None):
        super().__init__(parent)
        self.state = state
        self.path: Path | None = None
        self.spec = None
        self.x: np.ndarray | None = None  # (T,) the inspected sequence
        self.t: int | None = None
        self.last: dict | None = None
        self._serial = 0  # of the latest step request: older answers are dropped
        self._sequence_serial = 0  # of the latest sequence request (sample / example)
        self._seed = 0

        self.title = QLabel("no sequence model")
        self.title.setWordWrap(True)
        self.sample_button = QPushButton("Sample from the model")
        self.sample_button.clicked.connect(self.new_sample)
        self.example_button = QPushButton("Dataset example")
        self.example_button.clicked.connect(self.load_example)
        self.step = QSpinBox(minimum=0, maximum=0, prefix="t = ")
        self.step.valueChanged.connect(self.select_step)
        row = left_row(self.sample_button, self.example_button, self.step)

        self.timeline = pg.PlotWidget()
        self.timeline.setLabel("bottom", "time step")
        self.timeline.setLabel("left", "value")
        self.timeline.setMouseEnabled(x=True, y=False)
        self.field_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=(*FIELD_RGB, 90), pen=None)
        self.wave = pg.PlotDataItem(pen=pg.mkPen((200, 200, 200), width=1.5), symbol="o", symbolSize=4,
                                    symbolBrush=(200, 200, 200), symbolPen=None)
        self.field_dots = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(*FIELD_RGB), pen=None)
        self.step_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(STEP_RGB, width=2))
        self.step_line.hide()
        for item in (self.field_bars, self.wave, self.field_dots, self.step_line):
            self.timeline.addItem(item)
        self.timeline.scene().sigMouseClicked.connect(self._timeline_clicked)

        self.tree_plot = pg.PlotWidget()
        self.tree_plot.setXLink(self.timeline)
        self.tree_plot.setMouseEnabled(x=True, y=False)
        self.tree_plot.setLabel("bottom", "time step")
        self.tree_lines = pg.PlotDataItem(pen=pg.mkPen((*FIELD_RGB, 150), width=1), connect="pairs")
        self.tree_dots = pg.ScatterPlotItem(size=6, pen=None)
        self.tree_plot.addItem(self.tree_lines)
        self.tree_plot.addItem(self.tree_dots)
        for plot in (self.timeline, self.tree_plot):  # same axis width: time steps line up
            plot.getAxis("left").setWidth(110)

        self.chart = conditional_plot("level")
        self.bars, self.curve, self.value_line = conditional_items(self.chart, STEP_RGB)
        self.details = QLabel(" ")
        self.details.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.timeline, 3)
        layout.addWidget(self.tree_plot, 2)
        layout.addWidget(self.details)
        layout.addWidget(self.chart, 2)
        self.tree_plot.hide()

    # --- inputs --------------------------------------------------------------------------------
    def set_model(self, path, meta: dict, spec):
        """A 1-D model from a checkpoint (``meta`` from read_metadata); draws a first sample."""
        self.path, self.spec = Path(path), spec
        self.x, self.t, self.last = None, None, None
        self._serial += 1  # answers about the previous model are stale now
        self.step.setMaximum(spec.shape[0] - 1)
        self.title.setText(f"{meta['model']} · {spec.describe()} — click a time step")
        self.chart.setLabel("bottom", "level" if spec.discrete else "value")
        self.new_sample()

    def new_sample(self):
        if self.path is None:
            return
        self._seed += 1
        self.details.setText("sampling a sequence from the model…")
        run_job(sample_sequence, self.path, self._seed, on_done=self._sequence_callback(),
                on_error=self.message.emit)

    def load_example(self):
        name = self.state.get("dataset") if self.state is not None else None
        if self.path is None or not name:
            self.message.emit("no dataset chosen for this model")
            return
        self._seed += 1
        run_job(example_image, name, self.spec.shape, self.spec.levels, self._seed,
                on_done=self._sequence_callback(), on_error=self.message.emit)

    def set_sequence(self, x: np.ndarray, caption: str = ""):
        self.x = np.asarray(x).reshape(-1)
        T = len(self.x)
        self.wave.setData(np.arange(T), self.x.astype(float))
        self.timeline.setXRange(-0.5, T - 0.5, padding=0.01)
        self.details.setText(caption)
        self.sequence_ready.emit()
        self.select_step(self.t if self.t is not None and self.t < T else T - 1)

    def select_step(self, t: int):
        if self.x is None or not 0 <= t < len(self.x):
            return
        self.t = t
        if self.step.value() != t:
            self.step.setValue(t)  # re-enters select_step once, with the same t
            return
        self.step_line.setValue(t)
        self.step_line.show()
        self._serial += 1
        serial = self._serial
        run_job(inspect_step, self.path, self.x.copy(), t,
                on_done=lambda answer: self._answered(serial, answer), on_error=self.message.emit)

    # --- output --------------------------------------------------------------------------------
    def _sequence_callback(self):
        """A callback that shows the sequence only if no later request (or model) came since."""
        self._sequence_serial += 1
        serial, path = self._sequence_serial, self.path

        def arrived(answer):
            if not isValid(self):  # the window closed while the job ran
                return
            if serial == self._sequence_serial and path == self.path:
                self.set_sequence(*answer)
        return arrived

    def _timeline_clicked(self, event):
        if self.x is None:
            return
        vb = self.timeline.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        t = round(vb.mapSceneToView(event.scenePos()).x())
        self.select_step(int(np.clip(t, 0, len(self.x) - 1)))

    def step_position(self, t: int):
        """Widget coordinates of time step t on the timeline (for tests and tooltips)."""
        vb = self.timeline.getPlotItem().vb
        y = float(np.mean(vb.viewRange()[1]))
        return self.timeline.mapFromScene(vb.mapViewToScene(QPointF(t, y)))

    def _answered(self, serial: int, answer: dict):
        if not isValid(self) or serial != self._serial:
            return  # a later click is on its way
        self.last = answer
        t = answer["t"]
        show_conditional(self.chart, self.bars, self.curve, answer)
        self.value_line.setValue(answer["value"])
        self._show_field(answer)
        self._show_tree(answer["tree"])
        self._frame(t, answer["field"])
        bits = -answer["log_prob"] / np.log(2.0)
        field = answer["field"]
        seen = (f"{int((field > 0).sum())} earlier steps reach it (shaded)" if field is not None
                else f"no receptive field: {answer['field_error']}")
        self.details.setText(f"t = {t}: x_t = {answer['value']:g}, p = {np.exp(answer['log_prob']):.4f}, "
                             f"surprise {bits:.2f} bits; {seen}")
        self.updated.emit()

    FULL_VIEW = 160  # sequences up to this long are shown whole; longer ones zoom to the clicked step

    def _frame(self, t: int, field):
        """Long sequences (audio): show the receptive field and a little after t; pan/zoom to leave."""
        T = len(self.x)
        if T <= self.FULL_VIEW:
            return
        reach = int(t - np.nonzero(field > 0)[0].min()) if field is not None and (field > 0).any() else 32
        before = max(32, int(reach * 1.3))
        self.timeline.setXRange(max(-0.5, t - before), min(T - 0.5, t + max(8, before // 3)), padding=0)

    def field_steps(self) -> np.ndarray:
        """Time steps shaded as the receptive field now."""
        return np.asarray(self.field_bars.opts["x"], dtype=int)

    def _show_field(self, answer):
        field = answer["field"]
        if field is None:
            self.field_bars.setOpts(x=[], height=[], y0=0)
            self.field_dots.setData([], [])
            return
        steps = np.nonzero(field > 0)[0]
        span = float(self.x.max() - self.x.min()) or 1.0
        lo, hi = float(self.x.min()) - 0.05 * span, float(self.x.max()) + 0.05 * span
        self.field_bars.setOpts(x=steps, height=np.full(len(steps), hi - lo), y0=lo, width=1.0)
        strength = field[steps] / max(float(field.max()), 1e-12)
        brushes = [pg.mkBrush(*FIELD_RGB, int(80 + 175 * s)) for s in strength]
        self.field_dots.setData(steps, self.x[steps].astype(float), brush=brushes)

    def _show_tree(self, tree):
        if tree is None:
            self.tree_plot.hide()
            return
        self.tree_plot.show()
        xs, ys, brushes, pairs = [], [], [], []
        top = len(tree["levels"]) - 1
        for level, steps in enumerate(tree["levels"]):
            xs += steps
            ys += [level] * len(steps)
            colour = STEP_RGB if level == top else FIELD_RGB
            brushes += [pg.mkBrush(*colour)] * len(steps)
        for level, links in enumerate(tree["edges"]):
            for s_above, s_below in links:
                pairs += [(s_above, level + 1), (s_below, level)]
        self.tree_dots.setData(xs, ys, brush=brushes)
        pts = np.array(pairs, dtype=float).reshape(-1, 2)
        self.tree_lines.setData(pts[:, 0], pts[:, 1])
        self.tree_plot.getAxis("left").setTicks([list(enumerate(tree["names"]))])
        self.tree_plot.setMinimumHeight(min(420, 70 + 17 * len(tree["levels"])))  # a readable row each
        self.tree_plot.setTitle(f"dilation tree of output t = {tree['levels'][-1][0]}: "
                                "each dot reads the dots it is joined to on the row below", size="9pt")
        self.tree_plot.setYRange(-0.5, top + 0.5, padding=0)
