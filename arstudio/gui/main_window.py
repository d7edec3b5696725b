"""The main window, declared in one place: ``TABS`` (each tab's title, the window
attribute that holds it, how to build it) and ``MENUS`` (each menu's entries,
with their shortcuts). The View menu's ``Tab: …`` entries come from ``TABS``.

Panels never know each other: the window builds them and wires their signals;
:class:`~arstudio.gui.studio.Studio` holds the window-level behaviour (runs,
sessions, presentation mode, closing). Adding a tab is a line in ``TABS``; adding
a menu entry is a line in ``MENUS``. Every shortcut is unique in the window
(tests/test_gui_window.py enumerates them).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QSplitter, QTabWidget, QWidget

import arstudio
from arstudio.gui.complete_tab import CompletePanel
from arstudio.gui.gc_policy import collect_garbage_on_gui_thread
from arstudio.gui.inspect_tab import InspectTab
from arstudio.gui.latent_tab import LatentTab
from arstudio.gui.qt_anomaly import AnomalyPanel
from arstudio.gui.qt_compare import ComparePanel
from arstudio.gui.qt_compress import CompressPanel
from arstudio.gui.qt_docnade import DocNADEPanel
from arstudio.gui.qt_lessons import LessonPlayer
from arstudio.gui.qt_listen import ListenPanel
from arstudio.gui.qt_picker import PickerPanel
from arstudio.gui.qt_samples import SamplesPanel
from arstudio.gui.qt_train import TrainPanel
from arstudio.gui.saving import Saver
from arstudio.gui.scrolling import fit_scroll
from arstudio.gui.state import StudioState
from arstudio.gui.studio import Studio


@dataclass(frozen=True)
class Tab:
    title: str
    attr: str  # the window attribute that holds the tab's widget
    build: Callable[[MainWindow], QWidget]


def _train_tab(w: MainWindow) -> QSplitter:
    """The picker (scrollable, left) beside the training panel."""
    w.picker = PickerPanel()
    w.train = TrainPanel(w.picker)
    scroll = fit_scroll(w.picker, min_width=320, frame=True)
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(scroll)
    split.addWidget(w.train)
    split.setSizes([380, 900])
    split.setStretchFactor(1, 1)
    return split


TABS: tuple[Tab, ...] = (
    Tab("Train", "train_tab", _train_tab),  # picker + training: window.picker, window.train
    Tab("Samples", "samples", lambda w: SamplesPanel()),
    Tab("Complete", "complete", lambda w: CompletePanel(w.state)),  # paint, complete, inspect
    Tab("Inspect", "inspect", lambda w: InspectTab(w.state)),  # timeline (sequence models), masks (MADE & co.)
    Tab("Compare", "compare", lambda w: ComparePanel()),
    Tab("Listen", "listen", lambda w: ListenPanel(w.state)),  # sound models: generate, play, record
    # a model as a lossless codec: bytes per codec, cost map, the decoder rebuilding an image
    Tab("Compress", "compress", lambda w: CompressPanel(canvas_source=lambda: w.complete.canvas.values)),
    Tab("Anomaly", "anomaly", lambda w: AnomalyPanel()),  # bits/dim in vs out, ROC of three scores
    Tab("Topics", "topics", lambda w: DocNADEPanel()),  # DocNADE: topics, surprise, next word
    Tab("Latent", "latent", lambda w: LatentTab(w.state)),  # VQ-VAE + prior: samples, code-space completion, codes
)


@dataclass(frozen=True)
class Item:
    text: str
    slot: Callable[[MainWindow], Callable]  # the window -> the method to call
    shortcut: str | QKeySequence.StandardKey | None = None
    name: str | None = None  # keep the QAction as this window attribute
    checkable: bool = False  # checkable items call the slot with the checked state


@dataclass(frozen=True)
class Submenu:
    text: str
    name: str  # the window attribute that holds the QMenu (filled by its owner)


SEPARATOR = None
TAB_ITEMS = "tab items"  # one "Tab: TITLE" entry per TABS row, Ctrl+1..Ctrl+9

MENUS: tuple[tuple[str, tuple], ...] = (
    ("&File", (
        Item("&Open run…", lambda w: w.studio.open_run_dialog, QKeySequence.StandardKey.Open, "open_action"),
        Submenu("Recent runs", "recent_menu"),
        SEPARATOR,
        Item("Open &session…", lambda w: w.studio.open_session_dialog),
        Item("Save session &as…", lambda w: w.studio.save_session_dialog, "Ctrl+Shift+S"),
        SEPARATOR,
        # the current view as PNG (model, data, seed, bits/dim in its text chunks); the fill or sampling as GIF/APNG
        Item("Save &image…", lambda w: w.saver.save_image_dialog, "Ctrl+Shift+I"),
        Item("Save a&nimation…", lambda w: w.saver.save_animation_dialog, "Ctrl+Shift+A"),
        SEPARATOR,
        Item("&Quit", lambda w: w.close, QKeySequence.StandardKey.Quit),
    )),
    ("&Training", (
        Item("&Start", lambda w: w.train.start_training, "Ctrl+Return", "start_action"),
        Item("&Pause / resume", lambda w: w.train.pause_resume, "Ctrl+P"),
        Item("S&top", lambda w: w.train.stop, "Ctrl+."),
    )),
    ("&Data", (
        Item("&Add dataset…", lambda w: w.add_dataset_dialog, "Ctrl+Shift+D"),  # your own files, previewed
    )),
    ("&View", (
        Item("&Presentation mode", lambda w: w.studio.set_presentation, "F11", "presentation_action",
             checkable=True),
        TAB_ITEMS,
    )),
    ("&Lessons", (  # guided lessons (arstudio/lessons/*.toml and the user's; docs/lessons.md)
        Submenu("&Open lesson", "lessons_menu"),
        Item("Open lesson &file…", lambda w: w.open_lesson_dialog),
        SEPARATOR,
        Item("&Next step", lambda w: w.lessons.next, "PgDown", "lesson_next_action"),  # a presenter remote's keys
        Item("&Previous step", lambda w: w.lessons.back, "PgUp", "lesson_back_action"),
        Item("&Close lesson", lambda w: w.lessons.close),
    )),
    ("&Help", (
        Item("&About ARStudio", lambda w: w.about),
    )),
)


def first_size(width: int, height: int) -> QSize:
    """The window's size on a first start, for a screen area of width × height: most of it, leaving room
    for the title bar and the window's frame, never more than 1600 × 1000."""
    return QSize(min(1600, width - 40), min(1000, height - 50))


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        collect_garbage_on_gui_thread()  # never let a worker thread run a widget's destructor
        self.setWindowTitle("ARStudio")
        self._first_size()  # a saved geometry (studio.restore) replaces it
        self.state = StudioState()
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        for tab in TABS:
            widget = tab.build(self)
            setattr(self, tab.attr, widget)
            self.tabs.addTab(widget, tab.title)
        for panel in (self.samples, self.complete, self.inspect, self.listen, self.compress, self.anomaly,
                      self.topics, self.latent):
            panel.message.connect(self.show_message)
        self.samples.list.currentRowChanged.connect(self._bundled_chosen)
        self.studio = Studio(self)  # runs, sessions, presentation mode, closing
        self.saver = Saver(self, TABS)  # File → Save image… / Save animation…
        self.lessons = LessonPlayer(self)  # a guided lesson: a dock under the tabs
        self.lesson_dock = QDockWidget("Lesson", self, objectName="lesson_dock")
        self.lesson_dock.setWidget(self.lessons.panel)
        self.lesson_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()
        self._menus()
        self.studio.restore()
        self.show_message("ready")
        self.samples.start()

    def _first_size(self):
        """Fit the screen's available area (a 1280×720 projector, a 1920×1080 display), centred."""
        area = self.screen().availableGeometry()
        size = first_size(area.width(), area.height()).expandedTo(self.minimumSizeHint())
        self.resize(size)
        self.move(area.x() + max(0, (area.width() - size.width()) // 2),
                  area.y() + max(0, (area.height() - size.height()) // 2))

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def closeEvent(self, event):
        event.accept() if self.studio.confirm_close() else event.ignore()

    def _bundled_chosen(self, row: int):
        model = self.samples.current()
        if model is not None:
            self.state.set("dataset", model.dataset)
            self.state.set("checkpoint", model.path)

    def _menus(self):
        for title, entries in MENUS:
            menu = self.menuBar().addMenu(title)
            for entry in entries:
                if entry is SEPARATOR:
                    menu.addSeparator()
                elif entry == TAB_ITEMS:
                    for i, tab in enumerate(TABS):  # Ctrl+1..Ctrl+9 for the first nine
                        action = QAction(f"Tab: {tab.title}", self,
                                         triggered=lambda _=False, i=i: self.tabs.setCurrentIndex(i))
                        if i < 9:
                            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
                        menu.addAction(action)
                elif isinstance(entry, Submenu):
                    setattr(self, entry.name, menu.addMenu(entry.text))
                else:
                    menu.addAction(self._action(entry))
        self.studio.menus_ready()
        self._lesson_menu()
        self.lessons_menu.aboutToShow.connect(self._lesson_menu)  # lessons written since are listed too

    def _lesson_menu(self):
        from arstudio.lessons import list_lessons

        self.lessons_menu.clear()
        for lesson in list_lessons():
            label = lesson.title + ("" if lesson.source == "bundled" else "  (yours)")
            self.lessons_menu.addAction(QAction(label, self, toolTip=lesson.summary, triggered=lambda _=False,
                                                p=lesson.path: self.lessons.open_path(p)))

    def open_lesson_dialog(self):
        from PySide6.QtWidgets import QFileDialog

        from arstudio.lessons import user_lessons_dir

        path, _ = QFileDialog.getOpenFileName(self, "Open a lesson", str(user_lessons_dir()), "Lesson (*.toml)")
        if path:
            self.lessons.open_path(path)

    def _action(self, item: Item) -> QAction:
        action = QAction(item.text, self, checkable=item.checkable)
        if isinstance(item.shortcut, QKeySequence.StandardKey):
            action.setShortcuts(item.shortcut)  # the platform's keys (one or more)
        elif item.shortcut is not None:
            action.setShortcut(QKeySequence(item.shortcut))
        slot = item.slot(self)
        if item.checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _=False, slot=slot: slot())
        if item.name:
            setattr(self, item.name, action)
        return action

    def add_dataset_dialog(self):
        """Data → Add dataset…: a window-modal dialog; what it adds is listed in the picker."""
        from arstudio.gui.qt_add_dataset import AddDatasetDialog

        dialog = AddDatasetDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.added.connect(self._dataset_added)
        dialog.open()
        return dialog

    def _dataset_added(self, entry: dict):
        self.tabs.setCurrentWidget(self.train_tab)
        if self.picker.add_dataset(entry):
            self.picker.select(self.picker.model_name(), entry["name"])
            self.show_message(f"added {entry['title']}: chosen in the Train tab")
        else:
            self.show_message(f"added {entry['title']}; {self.picker.model_name()} cannot train on "
                              f"{entry['spec']['modality']} data like it: choose a model that lists it")

    def about(self):
        QMessageBox.about(self, "About ARStudio",
                          f"ARStudio {arstudio.__version__}\nA studio for deep autoregressive generative models.")

