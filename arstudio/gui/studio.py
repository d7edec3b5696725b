"""The studio's window-level behaviour: runs (open, recent, follow what the Train
tab started), sessions, presentation mode (F11), closing with a run going, and
restoring the window from QSettings.

The window (main_window.py) builds the tabs and menus from its declared lists
and hands them to ``Studio(window)``; this module imports no panel and edits
no menu: its menu entries are rows of ``main_window.MENUS``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from arstudio.gui.settings import studio_settings
from arstudio.runs import RunError
from arstudio.runs.worker import runs_root

RECENT_MAX = 8


class Studio(QObject):
    # What to do with a running worker when the window closes; None asks the user.
    close_policy: str | None = None  # "stop" | "leave"

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.presentation = None
        self.train.message.connect(self._status)
        self.train.run_changed.connect(self._run_changed)
        self.train.run_ended.connect(self._run_ended)
        self.compare.open_requested.connect(self.open_run)
        self.picker.changed.connect(self._show_bundled_samples)

    # the panels and menus this behaviour works on: built and owned by the window
    picker = property(lambda self: self.window.picker)
    train = property(lambda self: self.window.train)
    compare = property(lambda self: self.window.compare)
    listen = property(lambda self: self.window.listen)
    split = property(lambda self: self.window.train_tab)
    presentation_action = property(lambda self: self.window.presentation_action)
    recent_menu = property(lambda self: self.window.recent_menu)

    def menus_ready(self):
        self._refresh_recent()

    def restore(self):
        """The first model and data, then the window and state as they were last closed."""
        self.picker.select_first()
        self.restore_window()
        self.restore_state()

    def _show_bundled_samples(self):
        """No run open yet: show the samples of a bundled model for this model and data,
        so the studio has samples on screen at once, with no training."""
        from arstudio.bundled import list_bundled, read_history
        from arstudio.spec import DataSpec

        if self.train.follower is not None:
            return
        sel = self.picker.selection()
        for b in list_bundled():
            png = b.path.with_suffix(".png")
            if b.model != sel["model"] or b.dataset != sel["data"]:
                continue
            history = read_history(b)  # its training's sample grids by step, when it ships them
            if history and history["samples"] and self.train.view.show_history(
                    history["samples"], DataSpec.from_dict(b.metadata["spec"]), b.title):
                self.train.view.bundled = b
                return
            if png.is_file():
                self.train.view.show_still(png, f"samples of the bundled model {b.title}")
                self.train.view.bundled = b
                return

    def _status(self, text: str):
        self.window.statusBar().showMessage(text)

    # --- runs ---------------------------------------------------------------------------
    def open_run_dialog(self):
        folder = QFileDialog.getExistingDirectory(self.window, "Open a run folder", str(runs_root()))
        if folder:
            self.open_run(folder)

    def open_run(self, path) -> bool:
        try:
            self.train.open_run(path)
        except RunError as e:
            self._status(f"cannot open run: {e}")
            self.train._error(f"cannot open run: {e}")
            return False
        self.window.tabs.setCurrentWidget(self.split)
        cfg = self.train.follower.config
        try:  # show what the run is in the picker too; a model not registered here is fine
            self.picker.select(cfg.get("model"), cfg.get("dataset"), cfg.get("model_config"))
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
        from arstudio.gui.train_options import tab_settings

        train = cfg.get("train")
        try:  # Start again trains the same recipe; settings of the wrong type are left as they are
            self.train.set_train_settings(tab_settings(train if isinstance(train, dict) else {}))
        except (TypeError, ValueError, OverflowError, AttributeError) as e:
            self._status(f"the run's training settings were not taken over ({e})")
        return True

    def _run_changed(self, path: Path):
        self.window.state.set("run", path)
        self._remember(path)
        self.compare.add_run(path)

    def _run_ended(self, state: str):
        f = self.train.follower
        if f is not None:
            ckpt = f.run.latest_checkpoint()
            if ckpt is not None:  # other tabs (samples, canvas, inspector) can use it at once
                self.window.state.set("checkpoint", ckpt)
            self.compare.add_run(f.path)

    def _remember(self, path: Path):
        s = studio_settings()
        recent = [str(path)] + [p for p in (s.value("recent_runs") or []) if p != str(path)]
        s.setValue("recent_runs", recent[:RECENT_MAX])
        self._refresh_recent()

    def recent_runs(self) -> list[str]:
        value = studio_settings().value("recent_runs") or []
        return [value] if isinstance(value, str) else list(value)

    def _refresh_recent(self):
        self.recent_menu.clear()
        for p in self.recent_runs():
            self.recent_menu.addAction(QAction(p, self.window, triggered=lambda _=False, p=p: self.open_run(p)))
        self.recent_menu.setEnabled(bool(self.recent_runs()))

    # --- sessions ----------------------------------------------------------------------
    def open_session_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", "", "Session (*.toml)")
        if path:
            self.load_session(path)

    def save_session_dialog(self):
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", "lecture.toml", "Session (*.toml)")
        if path:
            from arstudio.gui.session import save_session

            save_session(self, path)
            self._status(f"session saved to {path}")

    def load_session(self, path) -> bool:
        from arstudio.gui.session import SessionError, apply_session

        try:
            apply_session(self, path)
        except SessionError as e:
            self._status(str(e))
            self.train._error(str(e))
            return False
        self._status(f"session {Path(path).name} restored")
        return True

    # --- presentation mode -------------------------------------------------------------
    def set_presentation(self, on: bool):
        from arstudio.gui.session import presentation_font

        w = self.window
        if on and self.presentation is None:
            self.presentation = (w.font(), w.isMaximized(), self.split.sizes())
            w.setFont(presentation_font(w.font()))
            w.showFullScreen()
            self.split.setSizes([0, sum(self.split.sizes())])  # the room sees curves and samples
        elif not on and self.presentation is not None:
            font, maximized, sizes = self.presentation
            w.setFont(font)
            w.showMaximized() if maximized else w.showNormal()
            self.split.setSizes(sizes)
            self.presentation = None
        self.train.view.config_text.setVisible(not on)
        for plot in self.plots():
            axis_font = w.font()
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(tickFont=axis_font)
                plot.getAxis(side).label.setFont(axis_font)
        if self.presentation_action.isChecked() != on:
            self.presentation_action.setChecked(on)

    def plots(self):
        return [self.train.view.plot, self.compare.plot]

    # --- window geometry and closing ------------------------------------------------------
    def restore_window(self):
        geometry = studio_settings().value("geometry")
        if geometry is not None:
            self.window.restoreGeometry(geometry)

    def restore_state(self):
        """Model, data, settings, open run and tab as they were when the window last closed."""
        import json

        from arstudio.gui.session import SessionError, apply_state

        text = studio_settings().value("last_state")
        if not text:
            return
        try:
            apply_state(self, json.loads(text), Path.cwd())
        except (SessionError, ValueError, TypeError) as e:  # a run deleted since: start fresh
            self.train.banner.hide()
            self._status(f"last state not fully restored: {e}")

    def save_state(self):
        import json

        from arstudio.gui.session import session_dict

        studio_settings().setValue("last_state", json.dumps(session_dict(self)))

    def confirm_close(self) -> bool:
        """Called from closeEvent: False keeps the window open."""
        if self.train.active():
            choice = self.close_policy or self._ask_close()
            if choice == "cancel":
                return False
            if choice == "stop":
                self.train.stop()
        self.train.timer.stop()
        studio_settings().setValue("geometry", self.window.saveGeometry())
        self.save_state()
        return True

    def _ask_close(self) -> str:
        box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                          "A training run is still going. Stop it (the last checkpoint is kept), "
                          "or leave it running and reopen it later with File → Open run?", parent=self.window)
        stop = box.addButton("Stop training", QMessageBox.ButtonRole.DestructiveRole)
        leave = box.addButton("Leave it running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return {stop: "stop", leave: "leave"}.get(box.clickedButton(), "cancel")
