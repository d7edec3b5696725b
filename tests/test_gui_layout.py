"""Layout: at 1280×720 and at 1920×1080 no control of any tab is clipped or hidden.

Every visible widget of every tab (and of every page of a tab's own tab widgets)
lies inside its tab; no scroll area needs a scroll bar to show a control, sideways
or down (with the model the window opens on; the Train tab's picker may scroll down
for a model with a longer settings list); buttons, check boxes and
non-wrapping labels are at least as wide as their text; a combo box shows its
whole current text. The first start picks a size that fits the screen.
"""
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGraphicsView,
    QLabel,
    QScrollArea,
    QTabWidget,
    QWidget,
)

SIZES = [(1280, 720), (1920, 1080)]


def _rect(w, widget):
    return QRect(widget.mapTo(w, QPoint(0, 0)), widget.size())


def _internal(widget) -> bool:
    """Parts of item views, plots and scroll bars: drawn by their owner, not controls."""
    p = widget.parentWidget()
    while p is not None:
        if isinstance(p, (QAbstractItemView, QGraphicsView)):
            return True
        p = p.parentWidget()
    return False


def _combo_text_fits(c: QComboBox) -> bool:
    fm = c.fontMetrics()
    widest = max([fm.horizontalAdvance(c.itemText(i)) for i in range(c.count())] + [0])
    decoration = c.sizeHint().width() - widest  # frame, arrow and margins the style adds
    return c.width() >= fm.horizontalAdvance(c.currentText()) + decoration


def problems(w, title: str, tab: QWidget) -> list[str]:
    out = []
    inside = _rect(w, tab)
    for area in tab.findChildren(QScrollArea):
        if not area.isVisibleTo(w) or _internal(area):
            continue
        if area.horizontalScrollBar().isVisible():
            out.append(f"{title}: a scroll area scrolls sideways ({area.widget().width()} px in "
                       f"{area.viewport().width()} px)")
        if area.verticalScrollBar().isVisible():
            out.append(f"{title}: a scroll area scrolls down ({area.widget().height()} px in "
                       f"{area.viewport().height()} px)")
    for c in tab.findChildren(QWidget):
        if not c.isVisibleTo(w) or c.width() == 0 or _internal(c):
            continue
        name = f"{title}: {type(c).__name__} {c.objectName() or ''}"
        text = c.currentText() if isinstance(c, QComboBox) else c.text() if isinstance(c, (QAbstractButton, QLabel)) else ""
        r = _rect(w, c)
        in_scroll = next((a for a in tab.findChildren(QScrollArea) if a.widget() is not None
                          and a.widget().isAncestorOf(c)), None)
        sideways = not (inside.left() <= r.left() and r.right() <= inside.right())
        if (in_scroll is None and not inside.contains(r)) or (in_scroll is not None and sideways):
            out.append(f"{name} {text!r} at {r.getRect()} is outside its tab {inside.getRect()}")
        if isinstance(c, QComboBox) and not _combo_text_fits(c):
            out.append(f"{name} shows {text!r} cut off ({c.width()} px)")
        elif isinstance(c, QAbstractButton) and text and c.width() < c.sizeHint().width() or isinstance(c, QLabel) and text.strip() and not c.wordWrap() and c.pixmap().isNull() \
                and c.width() < c.sizeHint().width():
            out.append(f"{name} {text!r} is cut off ({c.width()} < {c.sizeHint().width()} px)")
    return out


def _pages(tab: QWidget):
    """(label, index setter) for the tab itself and each enabled page of the tab widgets inside it."""
    yield "", None
    for inner in tab.findChildren(QTabWidget):
        for i in range(inner.count()):
            if inner.isTabEnabled(i):
                yield f" / {inner.tabText(i)}", (inner, i)


class _Screen:
    """A screen of a given available area (the offscreen platform's own is 800 × 800)."""

    def __init__(self, w, h):
        self.area = QRect(0, 0, w, h)

    def availableGeometry(self):
        return self.area


def test_first_start_fits_the_screen_and_no_control_of_any_tab_is_clipped(window, qtbot, monkeypatch):
    for size in SIZES:
        # first start on a screen of this size: the window's frame lies inside its available area
        monkeypatch.setattr(window, "screen", lambda size=size: _Screen(*size))
        window._first_size()
        qtbot.wait(30)
        frame = window.frameGeometry()
        assert QRect(0, 0, *size).contains(frame), (size, frame.getRect())
        assert abs(frame.left() - (size[0] - 1 - frame.right())) <= 8  # centred
        window.resize(*size)
        qtbot.waitUntil(lambda size=size: (window.width(), window.height()) == size, timeout=5000)
        found = []
        for i in range(window.tabs.count()):
            window.tabs.setCurrentIndex(i)
            tab = window.tabs.widget(i)
            for label, page in _pages(tab):
                if page is not None:
                    page[0].setCurrentIndex(page[1])
                qtbot.wait(30)  # let the layouts settle
                found += problems(window, f"{window.tabs.tabText(i)}{label} at {size[0]}×{size[1]}", tab)
        assert not found, "\n".join(found)


def test_a_lesson_step_on_the_complete_tab_fits_1280x720_with_its_panel(window, qtbot):
    """The lecture case: the lesson panel open under the tabs, a 28×28 model's pixel inspected."""
    from arstudio.lessons import find_lesson

    window.resize(1280, 720)
    lesson = find_lesson("pixelcnn")
    window.lessons.open(lesson)
    while lesson.steps[window.lessons.index].title != "The blind spot":
        window.lessons.next()
    insp = window.complete.inspector
    qtbot.waitUntil(lambda: window.lessons.settled() and insp.last is not None and "receptive" in insp.last,
                    timeout=180_000)
    qtbot.wait(100)
    assert (window.width(), window.height()) == (1280, 720), "the lesson panel made the window grow"
    found = problems(window, "Complete (lesson)", window.complete)
    found += problems(window, "Lesson panel", window.lesson_dock)
    text = window.lessons.panel.text
    assert text.height() >= text.heightForWidth(text.width()), "the step's text is cut off"
    assert not found, "\n".join(found)


def test_first_size_leaves_room_on_every_common_screen():
    from arstudio.gui.main_window import first_size

    for width, height in ((1280, 720), (1366, 768), (1920, 1080), (2560, 1440), (3840, 2160)):
        size = first_size(width, height)
        assert size.width() <= width - 40 and size.height() <= height - 50
        assert size.width() >= min(1240, width - 40) and size.height() >= min(670, height - 50)
