"""The main window: a tab per activity, a status bar for messages."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget

import arstudio
from arstudio.gui.gc_policy import collect_garbage_on_gui_thread
from arstudio.gui.qt_complete import CompletePanel
from arstudio.gui.qt_samples import SamplesPanel
from arstudio.gui.qt_studio import Studio
from arstudio.gui.state import StudioState


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        collect_garbage_on_gui_thread()  # never let a worker thread run a widget's destructor
        self.setWindowTitle("ARStudio")
        self.resize(1100, 720)
        self.state = StudioState()
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        self.samples = SamplesPanel()
        self.samples.message.connect(lambda text: self.statusBar().showMessage(text))
        self.samples.list.currentRowChanged.connect(self._bundled_chosen)
        self.tabs.addTab(self.samples, "Samples")
        self.complete = CompletePanel(self.state)  # paint, complete, inspect
        self.complete.message.connect(lambda text: self.statusBar().showMessage(text))
        self.tabs.addTab(self.complete, "Complete")
        from arstudio.gui.qt_inspect_tab import InspectTab

        self.inspect = InspectTab(self.state)  # timeline (sequence models), masks (MADE & co.)
        self.inspect.message.connect(lambda text: self.statusBar().showMessage(text))
        self.tabs.addTab(self.inspect, "Inspect")
        self._menus()
        self.studio = Studio(self)  # Train and Compare tabs, runs, sessions, presentation mode
        self.statusBar().showMessage("ready")
        self.samples.start()

    def closeEvent(self, event):
        event.accept() if self.studio.confirm_close() else event.ignore()

    def _bundled_chosen(self, row: int):
        model = self.samples.current()
        if model is not None:
            self.state.set("dataset", model.dataset)
            self.state.set("checkpoint", model.path)

    def _menus(self):
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(QAction("&About ARStudio", self, triggered=self._about))

    def _about(self):
        QMessageBox.about(self, "About ARStudio",
                          f"ARStudio {arstudio.__version__}\nA studio for deep autoregressive generative models.")
