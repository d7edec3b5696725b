"""The lesson panel: a guided lesson walks the window, one step at a time.

A step (see arstudio/lessons and docs/lessons.md) names a bundled model, a tab,
a page inside it, a highlight and control values; :class:`LessonPlayer` sets
them on the window it is given and shows the step's sentences in a
:class:`LessonPanel` (a dock at the bottom; it stays in presentation mode).
Next and back: the panel's buttons, Page Down / Page Up (what a presenter
remote sends) and the Lessons menu.

The player imports no panel: it reaches the window's tabs through the window
(``tabs``, ``samples``, ``complete``, ``inspect``). Some things a step asks for
arrive later (the Masks page is enabled once a worker has read the model's masks,
a time step once a sequence is sampled): those wait on a timer, up to
``PENDING_S`` seconds, and ``settled()`` says when all of them are done.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from arstudio.lessons import Lesson, LessonError, Step

PENDING_S = 120.0  # how long a step waits for a page or a sequence to become available


def _plain(title: str) -> str:
    return title.replace("&&", "\0").replace("&", "").replace("\0", "&")


def find_page(root: QWidget, title: str):
    """(tab widget, index) of the page called ``title`` in any QTabWidget inside ``root``."""
    want = _plain(title).strip().lower()
    for tabs in [root] * isinstance(root, QTabWidget) + root.findChildren(QTabWidget):
        for i in range(tabs.count()):
            if _plain(tabs.tabText(i)).strip().lower() == want:
                return tabs, i
    return None


def find_control(root: QWidget, name: str):
    return root.findChild(QWidget, name)


def control_value(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentText()
    if isinstance(w, (QAbstractSlider,)) or hasattr(w, "value") and isinstance(w, QAbstractSpinBox):
        return w.value()
    if isinstance(w, QAbstractButton):
        return w.isChecked()
    raise TypeError(f"{type(w).__name__} is not a control a lesson can set")


def check_control(w: QWidget, value) -> None:
    """TypeError or ValueError when ``value`` is not something ``w`` takes (see set_control)."""
    if isinstance(w, QComboBox):
        if w.findText(str(value)) < 0:
            entries = ", ".join(w.itemText(k) for k in range(w.count()))
            raise ValueError(f"has no entry {value!r} (entries: {entries})")
    elif isinstance(w, (QAbstractSlider, QAbstractSpinBox)) and hasattr(w, "setValue"):
        if isinstance(value, (bool, str)):
            raise TypeError(f"takes a number, not {value!r}")
    elif isinstance(w, QAbstractButton) and w.isCheckable():
        if not isinstance(value, bool):
            raise TypeError(f"takes true or false, not {value!r}")
    else:
        raise TypeError(f"is a {type(w).__name__}, not a control a lesson can set")


def set_control(w: QWidget, value) -> None:
    """Set a combo box (by its text), a spin box or slider (by value), a checkable button (true/false)."""
    check_control(w, value)
    if isinstance(w, QComboBox):
        w.setCurrentIndex(w.findText(str(value)))
    elif isinstance(w, QAbstractButton):
        w.setChecked(value)
    else:
        w.setValue(value if hasattr(w, "decimals") else int(value))


class LessonPanel(QWidget):
    """What the room reads: the lesson's title, the step's heading and sentences, back and next."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF((font.pointSizeF() if font.pointSizeF() > 0 else 10.0) * 1.15)
        self.heading.setFont(font)
        self.heading.setWordWrap(True)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 3)  # four sentences, wrapped
        self.position = QLabel()
        self.back_button = QPushButton("◀ Back", toolTip="the previous step (Page Up)")
        self.next_button = QPushButton("Next ▶", toolTip="the next step (Page Down)")
        self.close_button = QPushButton("Close lesson")
        top = QHBoxLayout()  # heading, position and buttons on one row: the panel stays low
        top.addWidget(self.heading, 1)
        top.addWidget(self.position)
        for b in (self.back_button, self.next_button, self.close_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the window's shortcuts
            top.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)


class LessonPlayer(QObject):
    """Opens a lesson on a window and shows its steps; ``step_shown(index)`` after each."""

    step_shown = Signal(int)
    closed = Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.lesson: Lesson | None = None
        self.index = -1
        self.panel = LessonPanel()
        self.panel.back_button.clicked.connect(self.back)
        self.panel.next_button.clicked.connect(self.next)
        self.panel.close_button.clicked.connect(self.close)
        self.problem: str | None = None  # the last step's failure, shown in the panel
        self._pending: list = []  # (what, try-it) callables that return True once done
        self._deadline = 0.0
        self._class_read = False  # a `class` step: the picker holds the current model's classes
        self.timer = QTimer(self, interval=100)
        self.timer.timeout.connect(self._retry)

    # --- opening ------------------------------------------------------------------------
    def check(self, lesson: Lesson) -> None:
        """What only the window knows: tab titles, page titles, control names and kinds."""
        w = self.window
        titles = [_plain(w.tabs.tabText(i)) for i in range(w.tabs.count())]
        for step in lesson.steps:
            if step.tab is not None and self._tab_index(step.tab) is None:
                raise lesson.error(step, "tab", f"no tab {step.tab!r} (tabs: {', '.join(titles)})")
            root = w.tabs.widget(self._tab_index(step.tab)) if step.tab is not None else w
            if step.view is not None and find_page(root, step.view) is None:
                pages = [_plain(t.tabText(i)) for t in root.findChildren(QTabWidget) for i in range(t.count())]
                raise lesson.error(step, "view", f"the {step.tab} tab has no page {step.view!r}"
                                   + (f" (pages: {', '.join(pages)})" if pages else " (it has no pages)"))
            if step.label is not None and find_control(root, "class") is None:
                raise lesson.error(step, "class", f"the {step.tab} tab has no class picker "
                                   "(Samples and Complete have one)")
            for name, value in step.settings.items():
                control = find_control(root, name)
                if control is None:
                    raise lesson.error(step, name, f"no control named {name!r} in the {step.tab or 'window'}"
                                       " (a control's objectName; see docs/lessons.md)")
                try:
                    check_control(control, value)
                except (TypeError, ValueError) as e:
                    raise lesson.error(step, name, f"{name!r} {e}") from None

    def open(self, lesson: Lesson) -> None:
        self.check(lesson)
        self.lesson = lesson
        self.window.lesson_dock.setWindowTitle(f"Lesson: {lesson.title}")
        self.window.lesson_dock.show()
        self.show(0)
        self.panel.text.setMinimumHeight(self.panel.text.fontMetrics().lineSpacing() * 3)  # the font may be larger now

    def open_path(self, name_or_path) -> bool:
        """Open by name or file; a lesson that cannot be used is one message in the status bar."""
        from arstudio.lessons import find_lesson

        try:
            self.open(find_lesson(name_or_path))
        except (LessonError, KeyError) as e:
            text = e.args[0] if isinstance(e, KeyError) else str(e)
            self.window.show_message(f"lesson not opened: {text}")
            self.problem = text
            return False
        return True

    def close(self):
        self.lesson, self.index = None, -1
        self._pending.clear()
        self.timer.stop()
        self.window.lesson_dock.hide()
        self.closed.emit()

    # --- moving --------------------------------------------------------------------------
    def next(self):
        if self.lesson is not None and self.index + 1 < len(self.lesson.steps):
            self.show(self.index + 1)

    def back(self):
        if self.lesson is not None and self.index > 0:
            self.show(self.index - 1)

    def show(self, index: int) -> None:
        lesson = self.lesson
        step = lesson.steps[index]
        self.index, self.problem = index, None
        self._pending.clear()
        p = self.panel
        p.heading.setText(step.title)
        p.text.setText(step.text)
        p.position.setText(f"step {index + 1} of {len(lesson.steps)}")
        p.back_button.setEnabled(index > 0)
        p.next_button.setEnabled(index + 1 < len(lesson.steps))
        try:
            self._apply(step)
        except (ValueError, TypeError, LookupError) as e:  # a control that refuses a value, a model gone
            self._failed(str(e))
        self.step_shown.emit(index)

    def _failed(self, text: str):
        self.problem = text
        self.panel.position.setText(f"step {self.index + 1} of {len(self.lesson.steps)} — {text}")
        self.window.show_message(f"lesson step {self.index + 1}: {text}")

    def settled(self) -> bool:
        """True once everything the step asked for is on screen (or given up on)."""
        return not self._pending

    # --- applying ------------------------------------------------------------------------
    def _tab_index(self, title: str):
        w = self.window.tabs
        return next((i for i in range(w.count()) if _plain(w.tabText(i)).lower() == title.strip().lower()), None)

    def _apply(self, step: Step):
        w = self.window
        if step.model is not None:
            self._set_model(step.model, step.tab)
        root = w
        if step.tab is not None:
            i = self._tab_index(step.tab)
            w.tabs.setCurrentIndex(i)
            root = w.tabs.widget(i)
        for name, value in step.settings.items():
            control = find_control(root, name)
            if control is None:
                raise LookupError(f"no control named {name!r}")
            try:
                set_control(control, value)
            except (TypeError, ValueError) as e:
                raise ValueError(f"{name} {e}") from None
        if step.label is not None:  # the picker is filled once the model's facts are read
            self._class_read = False
            self._wait("the class picker", lambda: self._set_class(root, step))
        if step.view is not None:
            self._wait(f"the page {step.view!r}", lambda: self._show_page(root, step.view))
        if step.highlight is not None:  # after the class: the inspector conditions on it
            self._wait("the highlight", lambda: self._class_set(step) and self._highlight(root, step))

    def _set_model(self, key: str, tab: str | None):
        w = self.window
        rows = [i for i, m in enumerate(w.samples.models) if m.key == key]
        if not rows:
            raise LookupError(f"no bundled model {key!r} in this studio")
        if w.samples.list.currentRow() != rows[0]:
            w.samples.list.blockSignals(True)  # no samples grid unless the step shows the Samples tab
            w.samples.list.setCurrentRow(rows[0])
            w.samples.list.blockSignals(False)
            w._bundled_chosen(rows[0])
            if tab is not None and tab.strip().lower() == "samples":  # a grid of this model, once the last one is in
                self._wait("the samples", lambda: w.samples.button.isEnabled() and (w.samples.refresh_model() or True))

    def _class_set(self, step: Step) -> bool:
        return step.label is None or not any(what == "the class picker" for what, _ in self._pending)

    def _set_class(self, root, step: Step) -> bool:
        """Choose the step's class once the picker holds the current model's classes (and, on
        Samples, once the grid that reading them started is in: the class draws a new one)."""
        from pathlib import Path

        box = find_control(root, "class")
        picker = box.parentWidget()
        current = self.window.state.get("checkpoint")
        if current is None or getattr(picker, "source", None) is None or Path(picker.source) != Path(current):
            return False
        samples = getattr(self.window, "samples", None)
        if samples is not None and root is samples and not samples.button.isEnabled():
            if not self._class_read:  # the facts are in (behind other panels' jobs): the grid gets its own time
                self._class_read = True
                self._deadline = time.monotonic() + PENDING_S
            return False
        text = str(step.label)
        if box.findText(text) < 0:
            entries = ", ".join(box.itemText(k) for k in range(box.count())) or "none: not a class-conditional model"
            raise ValueError(f"{step.model} has no class {step.label!r} (classes: {entries})")
        set_control(box, text)
        return True

    def _show_page(self, root, view: str) -> bool:
        tabs, i = find_page(root, view)
        if not tabs.isTabEnabled(i):
            return False
        tabs.setCurrentIndex(i)
        return True

    def _highlight(self, root, step: Step) -> bool:
        w = self.window
        if root is getattr(w, "inspect", None) and len(step.highlight) == 1:  # a time step on the timeline
            seq = w.inspect.sequence
            if seq.x is None:
                return False
            seq.select_step(min(step.highlight[0], len(seq.x) - 1))
            return True
        own = getattr(root, "lesson_highlight", None)
        if own is not None:  # a tab that draws its own highlight (Inspect: receptive field, attention)
            return own(list(step.highlight)) is not False
        if root is getattr(w, "complete", None):
            if len(step.highlight) != 2:
                raise ValueError("the Complete tab highlights a pixel: highlight = [row, col]")
            if w.complete.path is None:
                return False
            r, c = step.highlight
            _, H, W = w.complete.spec.shape
            if r >= H or c >= W:
                raise ValueError(f"pixel ({r}, {c}) is outside the model's {H}×{W} image")
            known, _ = w.complete.canvas.known_and_mask()
            w.complete.inspector.set_image(known)  # what the canvas holds, inspected at that pixel
            w.complete.inspector.select_pixel(r, c)
            return True
        raise ValueError(f"the {step.tab or 'window'} has nothing to highlight at {list(step.highlight)}")

    def _wait(self, what: str, attempt):
        """Try now; if not available yet, try again every 100 ms until PENDING_S has passed."""
        if attempt():
            return
        self._pending.append((what, attempt))
        self._deadline = time.monotonic() + PENDING_S
        self.timer.start()

    def _retry(self):
        try:
            self._pending = [(what, a) for what, a in self._pending if not a()]
        except (ValueError, TypeError, LookupError) as e:
            self._pending.clear()
            self._failed(str(e))
        if self._pending and time.monotonic() > self._deadline:
            self._failed(f"{self._pending[0][0]} did not become available")
            self._pending.clear()
        if not self._pending:
            self.timer.stop()
