"""The studio's tabs, menus and window-level behaviour, installed into MainWindow.

Kept out of main_window.py so that the window file stays a few lines per
feature: ``Studio(window)`` adds the Train tab (picker + training), the
Compare tab, File → Open run / recent runs / sessions, presentation mode
(F11), shortcuts, and restores the window from QSettings.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QScrollArea, QSplitter

from arstudio.gui.qt_picker import PickerPanel
from arstudio.gui.qt_train import TrainPanel
from arstudio.runs import RunError
from arstudio.runs.worker import runs_root

RECENT_MAX = 8


def studio_settings() -> QSettings:
    """QSettings in the user's config, or an INI file named by ARSTUDIO_SETTINGS (tests, kiosks)."""
    path = os.environ.get("ARSTUDIO_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("ARStudio", "ARStudio")


class Studio(QObject):
    # What to do with a running worker when the window closes; None asks the user.
    close_policy: str | None = None  # "stop" | "leave"

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.picker = PickerPanel()
        self.train = TrainPanel(self.picker)
        self.train.message.connect(self._status)
        self.train.run_changed.connect(self._run_changed)
        self.train.run_ended.connect(self._run_ended)

        scroll = QScrollArea()
        scroll.setWidget(self.picker)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(320)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(self.train)
        split.setSizes([380, 900])
        split.setStretchFactor(1, 1)
        self.split = split
        window.tabs.insertTab(0, split, "Train")
        window.tabs.setCurrentIndex(0)

        from arstudio.gui.qt_compare import ComparePanel

        self.compare = ComparePanel(self)
        window.tabs.addTab(self.compare, "Compare")
        from arstudio.gui.qt_listen import ListenPanel

        self.listen = ListenPanel(window.state)  # sound models: generate, play, record
        self.listen.message.connect(self._status)
        window.tabs.addTab(self.listen, "Listen")
        self.presentation = None
        self._menus()
        self.picker.changed.connect(self._show_bundled_samples)
        self.picker.select_first()
        self.restore_window()
        self.restore_state()

    # --- menus and shortcuts -------------------------------------------------------
    def _menus(self):
        w = self.window
        file_menu = w.menuBar().actions()[0].menu()  # the window's File menu
        first = file_menu.actions()[0] if file_menu.actions() else None
        self.open_action = QAction("&Open run…", w, shortcut=QKeySequence.StandardKey.Open,
                                   triggered=self.open_run_dialog)
        self.recent_menu = file_menu.addMenu("Recent runs")
        file_menu.insertAction(first, self.open_action)
        file_menu.insertMenu(first, self.recent_menu)
        file_menu.insertSeparator(first)
        file_menu.insertAction(first, QAction("Open &session…", w, triggered=self.open_session_dialog))
        file_menu.insertAction(first, QAction("Save session &as…", w, shortcut="Ctrl+Shift+S",
                                              triggered=self.save_session_dialog))
        file_menu.insertSeparator(first)
        self._refresh_recent()

        train_menu = w.menuBar().addMenu("&Training")
        train_menu.addAction(QAction("&Start", w, shortcut="Ctrl+Return", triggered=self.train.start_training))
        train_menu.addAction(QAction("&Pause / resume", w, shortcut="Ctrl+P", triggered=self.train.pause_resume))
        train_menu.addAction(QAction("S&top", w, shortcut="Ctrl+.", triggered=self.train.stop))

        view_menu = w.menuBar().addMenu("&View")
        self.presentation_action = QAction("&Presentation mode", w, shortcut="F11", checkable=True,
                                           toggled=self.set_presentation)
        view_menu.addAction(self.presentation_action)
        for i in range(min(9, w.tabs.count())):
            view_menu.addAction(QAction(f"Tab: {w.tabs.tabText(i)}", w, shortcut=f"Ctrl+{i + 1}",
                                        triggered=lambda _=False, i=i: w.tabs.setCurrentIndex(i)))
        # the Help menu was added first by the window; keep it last
        help_action = w.menuBar().actions()[1]
        w.menuBar().removeAction(help_action)
        w.menuBar().addAction(help_action)

    def _show_bundled_samples(self):
        """No run open yet: show the samples of a bundled model for this model and data,
        so the studio has samples on screen at once, with no training."""
        from arstudio.bundled import list_bundled

        if self.train.follower is not None:
            return
        sel = self.picker.selection()
        for b in list_bundled():
            png = b.path.with_suffix(".png")
            if b.model == sel["model"] and b.dataset == sel["data"] and png.is_file():
                self.train.view.show_still(png, f"samples of the bundled model {b.title}")
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
        except (KeyError, TypeError):
            pass
        from arstudio.gui.qt_train_options import tab_settings

        self.train.set_train_settings(tab_settings(cfg.get("train", {})))  # Start again trains the same recipe
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
