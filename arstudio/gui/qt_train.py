"""Train tab: start a worker process, follow its run folder, pause/resume/stop.

The window never trains. ``Start`` launches ``python -m arstudio train ...
--out RUN`` as a separate process (its own session, so it may outlive the
window) and a ~30 Hz timer reads what the worker appended to the run folder.
Pause, resume and stop are requests written to ``control.json``. A crash,
NaN, out-of-memory or kill ends that process only; the panel says why.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.runview import RunView
from arstudio.gui.train_options import TrainOptions
from arstudio.runs import RunError
from arstudio.runs.follow import FINISHED, RunFollower
from arstudio.runs.worker import new_run_path, start_worker, worker_command

TICK_MS = 33  # ~30 Hz: read new events, redraw only what changed
STATUS_EVERY = 15  # ticks between reads of status.json and the process (~0.5 s)


class TrainPanel(QWidget):
    message = Signal(str)  # status-bar text
    run_changed = Signal(object)  # Path of the run now shown
    run_ended = Signal(str)  # final state: done | stopped | failed | crashed

    def __init__(self, picker, parent=None):
        super().__init__(parent)
        from arstudio.devices import available_devices

        self.picker = picker
        self.process: subprocess.Popen | None = None
        self.pending_out: Path | None = None  # started, config.json not written yet
        self.follower: RunFollower | None = None
        self.ended_state: str | None = None
        self._ticks = 0

        self.device = QComboBox()
        self.device.addItems(["auto"] + available_devices())
        self.device.setToolTip("found here: " + ", ".join(available_devices()))
        self.steps = QSpinBox(minimum=1, maximum=10_000_000, value=1000, singleStep=100)
        self.batch = QSpinBox(minimum=1, maximum=65536, value=64)
        self.lr = QDoubleSpinBox(minimum=1e-6, maximum=1.0, decimals=5, singleStep=1e-4, value=1e-3)
        self.snapshot = QSpinBox(minimum=1, maximum=1_000_000, value=100)
        self.snapshot.setToolTip("validation, sample grid and checkpoint every N steps")
        import torch

        self.processes = QSpinBox(minimum=1, maximum=max(os.cpu_count() or 1, torch.cuda.device_count()), value=1)
        self.processes.setToolTip("train in N processes (torchrun + DistributedDataParallel): N CPU "
                                  "processes, or one per GPU; Batch size stays the whole step's batch, "
                                  "shared out equally, so it must be a multiple of N")
        self.options = TrainOptions(picker, [self.steps, self.batch, self.lr], self)
        self.options.recipe_applied.connect(self.set_train_settings)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("go on with the run shown (stopped, failed, killed; a finished one "
                                        "up to Steps) from its last checkpoint, in its own folder")
        self.continue_button.clicked.connect(self.continue_run)
        self.save_recipe_button = QPushButton("Save recipe…")
        self.load_recipe_button = QPushButton("Load recipe…")
        self.save_recipe_button.setToolTip("the model, data and settings as a TOML file for "
                                           "arstudio train --config")
        self.save_recipe_button.clicked.connect(lambda: self.save_recipe())
        self.load_recipe_button.clicked.connect(lambda: self.load_recipe())
        self.start_button.clicked.connect(self.start_training)
        self.pause_button.clicked.connect(self.pause_resume)
        self.stop_button.clicked.connect(self.stop)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { background: #fde2e1; color: #7a1210; padding: 6px; border-radius: 4px; }")
        self.banner.hide()
        self.view = RunView()

        form = QFormLayout()
        form.addRow("Device", self.device)
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Snapshot every", self.snapshot)
        form.addRow("Processes", self.processes)
        buttons = QVBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button, self.continue_button,
                  self.save_recipe_button, self.load_recipe_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        controls = QHBoxLayout()
        controls.addLayout(form)
        # a second column: recipe / window / label dropout / least squares, where they apply
        options_form = QFormLayout()
        self.options.add_rows(options_form)
        controls.addSpacing(12)
        controls.addLayout(options_form)
        controls.addSpacing(12)
        controls.addLayout(buttons)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)

        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._set_buttons()

    # --- settings (session files) -------------------------------------------------
    def train_settings(self) -> dict:
        return {"steps": self.steps.value(), "batch_size": self.batch.value(), "lr": self.lr.value(),
                "device": self.device.currentText(), "snapshot_every": self.snapshot.value(),
                "processes": self.processes.value(), **self.options.settings()}

    def set_train_settings(self, s: dict) -> None:
        self.steps.setValue(int(s.get("steps", self.steps.value())))
        self.batch.setValue(int(s.get("batch_size", self.batch.value())))
        self.lr.setValue(float(s.get("lr", self.lr.value())))
        self.snapshot.setValue(int(s.get("snapshot_every", self.snapshot.value())))
        self.processes.setValue(int(s.get("processes", self.processes.value())))
        if self.device.findText(str(s.get("device", ""))) >= 0:
            self.device.setCurrentText(s["device"])
        self.options.set_settings(s)

    # --- recipes (arstudio train --config) ----------------------------------------------
    def recipe(self):
        """What Start would train, as a :class:`arstudio.recipes.Recipe`."""
        from arstudio.recipes import Recipe

        sel = self.picker.selection()
        s = self.train_settings()
        every = s.pop("snapshot_every")
        s.pop("processes")  # how many processes is the command line's choice, not the recipe's
        train = {**s, "eval_every": every, "sample_every": every, "checkpoint_every": every}
        return Recipe(sel["model"], sel["data"], dict(sel["settings"]), train)

    def save_recipe(self, path=None) -> Path | None:
        from arstudio.recipes import write_recipe

        sel = self.picker.selection()
        if not sel["model"] or not sel["data"]:
            self._error("choose a model and a compatible dataset first")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save recipe", "recipe.toml", "Recipes (*.toml)")
            if not path:
                return None
        try:
            out = write_recipe(self.recipe(), path)
        except OSError as e:
            self._error(f"could not save the recipe: {e}")
            return None
        self.message.emit(f"recipe saved: {out} (arstudio train --config {out.name})")
        return out

    def load_recipe(self, path=None) -> bool:
        from arstudio.config_check import SettingsError
        from arstudio.recipes import read_recipe

        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Load recipe", "", "Recipes (*.toml)")
            if not path:
                return False
        try:
            r = read_recipe(path)
            self.picker.select(r.model, r.data, r.model_config)
        except (SettingsError, KeyError, ValueError) as e:
            self._error(f"cannot load the recipe: {e.args[0] if e.args else e}")
            return False
        train = dict(r.train)
        if "eval_every" in train:
            train["snapshot_every"] = train["eval_every"]
        self.set_train_settings(train)
        self.banner.hide()
        self.message.emit(f"recipe loaded: {path}")
        return True

    # --- actions ------------------------------------------------------------------------
    def start_training(self) -> Path | None:
        sel = self.picker.selection()
        if not sel["model"] or not sel["data"]:
            self._error("choose a model and a compatible dataset first")
            return None
        if self._own_worker_running():
            self._error("a training run is already going; stop it first")
            return None
        try:
            out = new_run_path(sel["model"], sel["data"])
            out.mkdir(parents=True)
            cmd = worker_command(sel["model"], sel["data"], sel["settings"], self.train_settings(), out)
            self.process = start_worker(cmd, out)
        except OSError as e:
            self._error(f"could not start the training process: {e}")
            return None
        self.pending_out = out
        self.follower = None
        self.ended_state = None
        self.view.follow(None)
        self.banner.hide()
        self.message.emit(f"starting {sel['model']} on {sel['data']} -> {out}")
        self.timer.start()
        self._set_buttons()
        return out

    def continue_run(self) -> Path | None:
        """``arstudio train --resume RUN`` in a worker, for the run shown: to its own total,
        or to Steps for a finished run (Steps must then be beyond where it ended)."""
        from arstudio.training.state import StateError, state_step

        f = self.follower
        if f is None or self.active() or self._own_worker_running():
            return None
        try:
            at = state_step(f.run.checkpoints_dir / "train_state.safetensors")
        except StateError as e:
            self._error(f"cannot continue: {e}")
            return None
        cmd = [sys.executable, "-m", "arstudio", "train", "--resume", str(f.path), "--quiet"]
        if f.status().get("state") == "done" or at >= f.total_steps:
            if self.steps.value() <= at:
                self._error(f"this run ended at step {at}; set Steps beyond it to train on")
                return None
            cmd += ["--steps", str(self.steps.value())]
        try:
            self.process = start_worker(cmd, f.path)
        except OSError as e:
            self._error(f"could not start the training process: {e}")
            return None
        self.follower = RunFollower(f.path)  # read afresh: the continuation redoes what followed `at`
        self.view.follow(self.follower)
        self.ended_state = None
        self.banner.hide()
        self.message.emit(f"continuing {f.path.name} from step {at}")
        self.timer.start()
        self._set_buttons()
        return f.path

    def pause_resume(self) -> None:
        if self.follower is None or not self.active():
            return
        paused = self.follower.status().get("state") == "paused" or self.pause_button.text() == "Resume"
        self.follower.run.request("resume" if paused else "pause")
        self.pause_button.setText("Pause" if paused else "Resume")
        self.message.emit("resuming…" if paused else "pausing after this step…")

    def stop(self) -> None:
        if self.follower is not None and self.active():
            self.follower.run.request("stop")
            self.message.emit("stopping: the worker finishes the step, tests and saves a checkpoint")

    def open_run(self, path) -> RunFollower:
        """Show any run folder: finished, failed, or still being written by another process."""
        follower = RunFollower(path)  # raises RunError with a message for a non-run
        if self._own_worker_running() and self.pending_out != follower.path:
            self.message.emit("the run started here keeps training in the background")
        self.follower = follower
        self.pending_out = None
        self.ended_state = None
        self.banner.hide()
        self.view.follow(follower)
        follower.poll()
        self._check_finished()
        self.view.refresh(self._state_text())
        self.timer.start()
        self._set_buttons()
        self.run_changed.emit(follower.path)
        return follower

    # --- state ---------------------------------------------------------------------------
    def _own_worker_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def active(self) -> bool:
        """Is the shown run still training (here, or in a process left running earlier)?"""
        if self._own_worker_running() and self.pending_out is not None:
            return True
        f = self.follower
        if f is None or self.ended_state is not None:
            return False
        if self.process is not None and self.follower.path == self._process_out():
            return self.process.poll() is None
        return f.status().get("state") in ("running", "paused") and f.worker_alive() is True

    def _process_out(self) -> Path | None:
        if self.process is None:
            return None
        args = self.process.args
        key = "--out" if "--out" in args else "--resume"
        return Path(args[args.index(key) + 1])

    def _state_text(self) -> str:
        if self.ended_state:
            return self.ended_state
        if self.follower is None:
            return "starting…"
        return self.follower.status().get("state", "unknown")

    def _set_buttons(self) -> None:
        active = self.active()
        self.start_button.setEnabled(not self._own_worker_running())
        self.pause_button.setEnabled(active and self.follower is not None)
        self.stop_button.setEnabled(active and self.follower is not None)
        self.continue_button.setEnabled(not active and not self._own_worker_running() and self.follower is not None
                                        and (self.follower.path / "checkpoints" / "train_state.safetensors").is_file())
        if not active:
            self.pause_button.setText("Pause")

    def _error(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()
        self.message.emit(text)

    # --- following ------------------------------------------------------------------------
    def _tick(self) -> None:
        self._ticks += 1
        if self.pending_out is not None and self.follower is None:
            if (self.pending_out / "config.json").is_file():
                try:
                    self.follower = RunFollower(self.pending_out)
                except RunError:
                    pass  # config.json is written atomically; unreadable means not yet
                else:
                    self.view.follow(self.follower)
                    self.run_changed.emit(self.follower.path)
            elif self.process is not None and self.process.poll() is not None:
                self._worker_gone_before_start()
                return
        if self.follower is None:
            return
        self.follower.poll()
        if self._ticks % STATUS_EVERY == 0 or self.follower.finished:
            self._check_finished()
            self._set_buttons()
            self.view.refresh(self._state_text())
        else:
            self.view.refresh()

    def _check_finished(self) -> None:
        if self.ended_state is not None or self.follower is None:
            return
        f = self.follower
        status = f.status()
        state = status.get("state")
        own = self.process is not None and f.path == self._process_out()
        rc = self.process.poll() if own else None
        if state in FINISHED:
            if own and rc is None:
                return  # the worker wrote its status and is closing; wait for it to exit
            f.poll()
            self._ended(state, status.get("message", ""))
        elif own and rc is not None:
            f.poll()
            how = f"was killed (signal {-rc})" if rc < 0 else f"exited with code {rc}"
            self._ended("crashed", f"the training process {how} before finishing. " + self._log_tail(f.path))
        elif not own and state in ("running", "paused") and f.worker_alive() is False:
            self._ended("crashed", "the process writing this run is no longer running; "
                                   "it ended without finishing (crash or kill).")

    def _ended(self, state: str, detail: str) -> None:
        self.ended_state = state
        ckpt = self.follower.run.latest_checkpoint()
        keep = f" The last good checkpoint is {ckpt.name}." if ckpt else " No checkpoint was saved."
        if state in ("failed", "crashed"):
            self._error(f"Training {state}: {detail}" + (keep if state in ("failed", "crashed") else ""))
        else:
            self.message.emit(f"training {state}: {detail}")
        self.pending_out = None
        self._set_buttons()
        self.view.refresh(state)
        self.run_ended.emit(state)

    def _worker_gone_before_start(self) -> None:
        out, rc = self.pending_out, self.process.returncode
        self.pending_out = None
        self.ended_state = "failed"
        self.timer.stop()
        self._error(f"the training process ended (code {rc}) before the run began. " + self._log_tail(out))
        self._set_buttons()
        self.run_ended.emit("failed")

    @staticmethod
    def _log_tail(folder: Path) -> str:
        try:
            lines = [ln for ln in (folder / "worker.log").read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return ("Last output: " + lines[-1]) if lines else ""
