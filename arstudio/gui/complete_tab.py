"""The Complete tab: paint, let the model finish the image pixel by pixel, inspect any pixel.

Left: the canvas. Middle: n completions side by side, animated while they
are generated (speed slider, pause, single step, the current pixel
highlighted); the method selector says what each method lets a pixel see.
Right: the inspector, following the selected completion live.

Generation runs in ``CompletionRun``, a plain thread that loads its own copy
of the model, walks :func:`arstudio.sampling.complete_steps` and leaves the
latest NumPy snapshot for a ~30 Hz timer to draw. The panel follows
``state.checkpoint`` for the current model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.completion_run import MAX_SPEED, CompletionRun, example_image, steps_per_second
from arstudio.gui.pixelview import UNKNOWN_RGB, PixelView, levels_to_rgb
from arstudio.gui.qt_canvas import CanvasPanel
from arstudio.gui.qt_density import DensityPanel
from arstudio.gui.qt_inspector import InspectorPanel
from arstudio.gui.scrolling import fit_scroll
from arstudio.gui.speed_widgets import ClassPicker, LocationPicker, OrderPicker, SpeedMeterWidget, StatesView
from arstudio.gui.workers import run_job
from arstudio.sampling.completion import METHODS, NOTES
from arstudio.sampling.speed import model_facts


def stepper_states_job(path, image, index, label, location=None):
    """Runs in a worker: the cached stepper's kept / computed states at ``index`` (NumPy out)."""
    from arstudio.checkpoint import load_checkpoint
    from arstudio.sampling.conditioning import conditioning
    from arstudio.sampling.states import stepper_states

    model = load_checkpoint(path)
    cond = conditioning(model, label, location)
    return stepper_states(model, image, index, **cond)


class CompletePanel(QWidget):
    message = Signal(str)
    example_loaded = Signal()
    completed = Signal()  # a completion finished and is on screen
    facts_ready = Signal()  # the model's capabilities are known (switch, class and order pickers set)
    states_ready = Signal()  # the states view shows a pixel's cached states

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.path: Path | None = None
        self.spec = None
        self.run: CompletionRun | None = None
        self.results: np.ndarray | None = None  # (n, C, H, W) the last finished completions
        self.frames: np.ndarray | None = None  # (n, C, H, W) what the views show now
        self.selected = 0
        self._seed = 0
        self.facts: dict | None = None  # what the model can do (model_facts), once known
        self._last_seed: int | None = None  # of the last completion (for "other path, same seed")

        self.canvas_panel = CanvasPanel()
        self.canvas = self.canvas_panel.canvas
        self.canvas_panel.load_example_requested.connect(self.load_example)
        self.canvas.pixel_clicked.connect(self._canvas_pixel)

        self.model_label = QLabel("no model: pick one in the Samples tab or train one")
        self.model_label.setWordWrap(True)
        self.count = QSpinBox(minimum=1, maximum=16, value=4, prefix="n = ", objectName="count")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=3.0, singleStep=0.1, value=1.0,
                                          prefix="T = ")
        self.method = QComboBox(objectName="method")  # objectNames: what a lesson step can set
        self.method.addItems(METHODS)
        self.method.currentTextChanged.connect(self._method_changed)
        self.note = QLabel(NOTES["raster"])
        self.note.setWordWrap(True)
        self.speed = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=MAX_SPEED, value=7)
        self.speed.valueChanged.connect(self._speed_changed)
        self.speed_label = QLabel()
        self.complete_button = QPushButton("Complete", shortcut="Ctrl+Shift+Return",  # Ctrl+Return: Training → Start
                                           toolTip="Ctrl+Shift+Return")
        self.complete_button.clicked.connect(lambda _=False: self.start_completion())
        self.pause_button = QPushButton("Pause", checkable=True)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.step_button = QPushButton("Step", toolTip="one pixel, while paused")
        self.step_button.clicked.connect(self._single_step)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.to_canvas_button = QPushButton("Send to canvas",
                                            toolTip="continue from the selected completion")
        self.to_canvas_button.clicked.connect(self.send_to_canvas)
        self.progress = QLabel(" ")
        self._order_name = "raster"  # the order of the running completion (progress line)
        self.progress.setWordWrap(True)
        self.speed_meter = SpeedMeterWidget()  # naive / cached switch, live px/s, identical samples
        self.speed_meter.rerun_requested.connect(self.rerun_other_path)
        self.classes = ClassPicker(allow_all=False)  # class-conditional models: which class
        self.classes.changed.connect(self._class_changed)
        self.location = LocationPicker()  # models conditioned on a map: where the digit goes
        self.location.changed.connect(self._location_changed)
        self.order_picker = OrderPicker()  # order-agnostic models: which order; others: their own
        self.states = StatesView()  # the cached stepper's states at a clicked pixel

        self.views: list[PixelView] = []
        self.views_grid = QGridLayout()
        self.views_box = QWidget()
        self.views_box.setLayout(self.views_grid)

        controls = QGridLayout()
        controls.addWidget(self.count, 0, 0)
        controls.addWidget(self.temperature, 0, 1)
        controls.addWidget(self.method, 0, 2)
        controls.addWidget(self.note, 1, 0, 1, 3)
        controls.addWidget(QLabel("speed"), 2, 0)
        controls.addWidget(self.speed, 2, 1)
        controls.addWidget(self.speed_label, 2, 2)
        buttons = QGridLayout()  # two rows: the panel stays narrow enough for 1280 px
        for k, b in enumerate((self.complete_button, self.pause_button, self.step_button, self.stop_button,
                               self.to_canvas_button)):
            buttons.addWidget(b, k // 3, k % 3)
        middle = QWidget()
        mid = QVBoxLayout(middle)
        mid.addWidget(self.model_label)
        mid.addLayout(controls)
        mid.addWidget(self.classes)
        mid.addWidget(self.location)
        mid.addLayout(buttons)
        mid.addWidget(self.speed_meter)
        mid.addWidget(self.views_box, 1)
        mid.addWidget(self.progress)
        mid.addWidget(self.order_picker)
        mid.addWidget(self.states)

        self.inspector = InspectorPanel()
        splitter = QSplitter()
        for panel in (self.canvas_panel, middle, self.inspector):
            splitter.addWidget(_scrollable(panel))  # a 1280-px projector must not cut the tab off
        splitter.setSizes([360, 420, 320])
        self.density = DensityPanel()  # shown instead for real-valued 2-D models
        self.pages = QStackedWidget()
        self.pages.addWidget(splitter)
        self.pages.addWidget(self.density)
        layout = QHBoxLayout(self)
        layout.addWidget(self.pages)

        self.timer = QTimer(self, interval=33)  # ~30 Hz animation frames
        self.timer.timeout.connect(self._poll)
        self._speed_changed(self.speed.value())
        self._set_running(False)
        state.subscribe("checkpoint", self.set_checkpoint)
        if QApplication.instance() is not None:
            QApplication.instance().aboutToQuit.connect(self.shutdown)
        if state.get("checkpoint") is not None:
            self.set_checkpoint(state.get("checkpoint"))

    # --- model ----------------------------------------------------------------------------------
    def set_checkpoint(self, path):
        from arstudio.checkpoint import CheckpointError, dataset_named_by, read_spec

        self.stop()
        try:
            meta, spec = read_spec(path)
        except CheckpointError as e:
            self.model_label.setText(f"cannot open {path}: {e}")
            return
        self.pages.setCurrentIndex(0)
        if not spec.discrete and spec.shape == (2,):
            self.path = None
            self.pages.setCurrentWidget(self.density)
            self.density.load(Path(path), dataset_named_by(meta) or self.state.get("dataset"))
            return
        if spec.modality != "image" or not spec.discrete:
            self.path = None
            self.model_label.setText(f"{meta['model']} models {spec.describe()}: the canvas paints "
                                     "discrete images; pick an image model to complete")
            return
        self.path, self.spec = Path(path), spec
        self.model_label.setText(f"{meta['model']} · {spec.describe()} · {meta.get('dataset', '')}")
        if self.canvas.values.shape != spec.shape or self.canvas.levels != spec.levels:
            self.canvas_panel.set_shape(*spec.shape, spec.levels)
        self.inspector.set_model(self.path, spec.levels, spec.shape[0])
        self.inspector.set_image(self.canvas.values)
        self._make_views(self.count.value())
        self.facts = None
        self.speed_meter.reset()
        self.states.show_message("States of the cached stepper: click a pixel of a completion")
        run_job(model_facts, self.path, on_done=lambda f, p=self.path: self._facts_ready(p, f),
                on_error=lambda t: self.message.emit(f"cannot read {self.path}: {t}"), owner=self)

    def _facts_ready(self, path, facts):
        if path != self.path:
            return  # another model was chosen meanwhile
        self.facts = facts
        self.speed_meter.set_cached_available(facts["cached"], facts["name"])
        self.classes.set_classes(facts["classes"], source=path)
        self.inspector.label = self.classes.label()
        self.location.set_map(facts["local_map"])
        self.inspector.location = self.location.location()
        self.order_picker.set_model(facts["shape"], facts["order"], facts["agnostic"])
        self.facts_ready.emit()

    def load_example(self):
        """A random test image of the current dataset onto the canvas (loaded off the GUI thread)."""
        name = self.state.get("dataset")
        if not name or self.spec is None:
            self.message.emit("no dataset for the current model")
            return
        self._seed += 1
        self.message.emit(f"loading a {name} test image…")
        run_job(example_image, name, self.spec.shape, self.spec.levels, self._seed,
                on_done=self._example_ready, on_error=lambda t: self.message.emit(f"cannot load {name}: {t}"), owner=self)

    def _example_ready(self, answer):
        image, text = answer
        if image.shape != self.canvas.values.shape:
            return  # the model changed while it loaded
        self.canvas.set_image(image)
        self.message.emit(text)
        self.example_loaded.emit()

    # --- running ----------------------------------------------------------------------------------
    def start_completion(self, seed: int | None = None, sampler: str | None = None):
        if self.path is None:
            self.message.emit("no image model to complete with")
            return
        self.stop()
        known, mask = self.canvas.known_and_mask()
        n = self.count.value()
        self._make_views(n)
        self.frames = np.repeat(np.where(mask, known, 0)[None], n, axis=0)
        self._show_frames(None, ~mask)
        if seed is None:
            self._seed += 1
            seed = self._seed
        self._last_seed = seed
        sampler = sampler or self.speed_meter.path
        self.run = CompletionRun(self.path, known, mask, n, self.method.currentText(),
                                 self.temperature.value(), seed, steps_per_second(self.speed.value()),
                                 sampler, self.speed_meter.meter, self.classes.label(), self.order_picker.order(),
                                 self.location.location())
        self._order_name = self.order_picker.order_name()  # for the progress line of this run
        if self.pause_button.isChecked():
            self.run.paused.set()
        self.run.start()
        self._set_running(True)
        self.timer.start()
        self.message.emit(f"completing with {self.method.currentText()}…")

    def shutdown(self):
        """On quit: stop generating, let the thread finish its step, stop the inspector."""
        run = self.run
        self.stop()
        if run is not None:
            run.thread.join(timeout=5)
        self.inspector.engine.close(wait=5)

    def stop(self):
        if self.run is not None:
            self.run.stopped.set()
            self.run = None
        self.timer.stop()
        self._set_running(False)

    def _poll(self):
        run = self.run
        if run is None:
            return
        latest = run.take_latest()
        if latest is not None:
            self.frames = latest["x"]
            self._show_frames(latest["index"], latest["pending"])
            phase = latest["phase"]
            if phase == "raster":  # the sampler's one pass over the dimensions, in the picked order
                phase = f"{self._order_name} order" if self._order_name != "raster" else phase
            self.progress.setText(f"{phase}: step {latest['step'] + 1} of {latest['total']}")
            if self.pause_button.isChecked() and latest["index"] >= 0 and latest["phase"] == "raster":
                _, H, W = self.spec.shape  # stepping while paused: the states follow the current pixel
                self.show_states(*divmod(latest["index"] % (H * W), W))
        if run.finished.is_set() and run.take_latest() is None:
            self.timer.stop()
            self.run = None
            self._set_running(False)
            if run.error:
                self.message.emit(f"completion failed: {run.error}")
                self.progress.setText(run.error)
                return
            if run.result is None:
                return
            self.results = self.frames = run.result["x"]
            self._show_frames(None)
            unseen = run.result["unseen"]
            unseen_hw = unseen.any(0) if unseen.ndim == 3 else unseen
            self.canvas.set_unseen(unseen_hw if unseen_hw.any() else None)
            text = f"{run.result['method']}: {run.result['note']}"
            if unseen_hw.any():
                text += f" — {int(unseen_hw.sum())} painted pixels unseen (orange on the canvas)"
            if run.result["ess"] is not None:
                text += f" — effective candidates {run.result['ess']:.1f}"
            self.progress.setText(text)
            self.message.emit("completion done")
            self.completed.emit()

    def _show_frames(self, index, pending=None):
        """Draw the frames; ``pending`` (C, H, W) marks entries not generated yet (magenta)."""
        _, H, W = self.spec.shape
        cell = None if index is None or index < 0 else divmod(index % (H * W), W)
        todo = None if pending is None else pending.any(0)[..., None]  # (H, W, 1)
        for k, view in enumerate(self.views[:len(self.frames)]):
            rgb = levels_to_rgb(self.frames[k], self.spec.levels)
            if todo is not None:
                rgb = np.where(todo, np.array(UNKNOWN_RGB, np.uint8), rgb)
            view.set_rgb(rgb)
            view.set_highlight(cell)
        self.inspector.set_image(self.frames[min(self.selected, len(self.frames) - 1)])

    def _make_views(self, n):
        if len(self.views) == n:
            return
        for v in self.views:
            v.setParent(None)
        self.views = []
        cols = int(np.ceil(np.sqrt(n)))
        for k in range(n):
            v = PixelView(min_cell=3)
            v.pixel_clicked.connect(lambda r, c, k=k: self._view_pixel(k, r, c))
            self.views_grid.addWidget(v, k // cols, k % cols)
            self.views.append(v)
        self.selected = 0
        self._mark_selected()

    def _mark_selected(self):
        for k, v in enumerate(self.views):
            v.selected = k == self.selected
            v.update()

    def _view_pixel(self, k, row, col):
        self.selected = k
        self._mark_selected()
        if self.frames is not None:
            self.inspector.set_image(self.frames[k])
        self.inspector.select_pixel(row, col)
        self.show_states(row, col)

    def _canvas_pixel(self, row, col):
        known, _ = self.canvas.known_and_mask()
        self.inspector.set_image(known)
        self.inspector.select_pixel(row, col)

    def _class_changed(self):
        self.inspector.label = self.classes.label()  # the inspector conditions on the same class
        self.inspector._request()

    def _location_changed(self):
        """A new painted map: the inspector conditions on it; Complete uses it on the next run."""
        self.inspector.location = self.location.location()
        self.inspector._request()

    def rerun_other_path(self):
        """The last completion again, same seed and canvas, on the other sampling path."""
        if self._last_seed is None or self.run is not None:
            return
        other = self.speed_meter.other_path()
        self.speed_meter.set_path(other)
        self.start_completion(seed=self._last_seed, sampler=other)

    def show_states(self, row, col):
        """The cached stepper's kept and computed states for pixel (row, col) of the selected
        completion (or the canvas), in a worker."""
        if self.path is None or self.facts is None:
            return
        if not self.facts["cached"]:
            self.states.show_message(f"{self.facts['name']} has no cached stepper: the naive path keeps "
                                     "no states and recomputes the whole network for every pixel")
            return
        image = self.frames[self.selected] if self.frames is not None else self.canvas.known_and_mask()[0]
        _, H, W = self.spec.shape
        index, path = row * W + col, self.path
        where = f"pixel ({row}, {col})"
        run_job(stepper_states_job, path, np.asarray(image), index, self.classes.label(),
                self.location.location(),
                on_done=lambda maps: self._states_ready(path, maps, where),
                on_error=lambda t: self.states.show_message(f"states: {t}"), owner=self)

    def _states_ready(self, path, maps, where):
        if path == self.path:
            self.states.show_states(maps, where)
            self.states_ready.emit()

    def send_to_canvas(self):
        if self.results is None:
            return
        self.canvas.set_unseen(None)
        self.canvas.set_image(self.results[self.selected])
        self.message.emit(f"completion {self.selected + 1} is on the canvas: mark what to redraw")

    # --- controls ----------------------------------------------------------------------------------
    def _method_changed(self, method):
        self.note.setText(NOTES[method])

    def _speed_changed(self, v):
        speed = steps_per_second(v)
        self.speed_label.setText("max" if speed == float("inf") else f"{speed:.0f} px/s")
        if self.run is not None:
            self.run.speed = speed

    def _pause_toggled(self, on):
        if self.run is not None:
            (self.run.paused.set if on else self.run.paused.clear)()
        self.pause_button.setText("Resume" if on else "Pause")

    def _single_step(self):
        if self.run is not None:
            if not self.pause_button.isChecked():
                self.pause_button.setChecked(True)
            self.run.step_once()

    def _set_running(self, running: bool):
        self.speed_meter.rerun.setEnabled(not running and self.speed_meter.cached_available
                                          and self._last_seed is not None)
        self.complete_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.step_button.setEnabled(running)
        self.to_canvas_button.setEnabled(not running and self.results is not None)


def _scrollable(panel: QWidget) -> QScrollArea:
    """Wrap a panel so the splitter may shrink it to (never below) its minimum width."""
    return fit_scroll(panel)
