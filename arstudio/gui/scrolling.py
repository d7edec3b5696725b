"""Scroll areas that never cut a control off sideways (shared by the window and the tabs).

A plain QScrollArea in a splitter may be squeezed below its panel's width (the
Complete tab's method box showed "ras"), and with ``widgetResizable`` it sizes
a panel holding word-wrapped labels to their preferred height, not to the
viewport, so a panel that would fit needs scrolling. :func:`fit_scroll` fixes
both: the area asks for the panel's minimum width (the splitter and the window
keep at least that) and fits the panel to the viewport's height, scrolling only
below the panel's minimum height.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget


class _NoHeightForWidth(QVBoxLayout):
    """Holds the panel and reports no height-for-width (QScrollArea asks the layout), so the scroll
    area gives the panel the viewport's height and scrolls only below its minimum height."""

    def hasHeightForWidth(self) -> bool:
        return False


class FitScrollArea(QScrollArea):
    def __init__(self, panel: QWidget, min_width: int = 160, frame: bool = False, parent=None):
        super().__init__(parent)
        self.panel = panel
        self._min_width = min_width
        holder = QWidget()
        layout = _NoHeightForWidth(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(panel)
        self.setWidget(holder)
        self.setWidgetResizable(True)
        holder.installEventFilter(self)  # the panel's minimum width changed: tell the splitter
        if not frame:
            self.setFrameShape(QScrollArea.Shape.NoFrame)

    def eventFilter(self, obj, event):
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(obj, event)

    def minimumSizeHint(self) -> QSize:
        inner = self.widget().minimumSizeHint().width() if self.widget() is not None else 0
        bar = self.verticalScrollBar().sizeHint().width()  # room for a vertical bar, should one be needed
        return QSize(max(self._min_width, inner + bar + 2 * self.frameWidth()), 80)


def fit_scroll(panel: QWidget, min_width: int = 160, frame: bool = False) -> FitScrollArea:
    return FitScrollArea(panel, min_width, frame)
