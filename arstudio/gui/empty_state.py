"""A page that is either its content or a sentence saying what to do: never a blank area."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLayout, QStackedWidget, QVBoxLayout, QWidget


class EmptyOr(QStackedWidget):
    """``show_content()`` shows the widget; ``show_empty(text)`` a centred, wrapped sentence."""

    def __init__(self, content: QWidget, text: str, parent=None):
        super().__init__(parent)
        self.content = content
        self.empty = QLabel(text)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(24)
        self.empty.setObjectName("empty-state")
        self.addWidget(self.empty)
        self.addWidget(content)

    def show_empty(self, text: str):
        self.empty.setText(text)
        self.setCurrentWidget(self.empty)

    def show_content(self):
        self.setCurrentWidget(self.content)

    @property
    def is_empty(self) -> bool:
        return self.currentWidget() is self.empty

    @property
    def text(self) -> str:
        return self.empty.text()


def fill_with_page(owner: QWidget, parts, text: str) -> EmptyOr:
    """Lays ``owner`` out as one :class:`EmptyOr` (no margins) whose content stacks ``parts``
    top to bottom: each a widget or a layout, or (widget or layout, stretch). Returns the page,
    showing ``text`` until ``show_content()``."""
    body = QWidget()
    inner = QVBoxLayout(body)
    inner.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        item, stretch = part if isinstance(part, tuple) else (part, 0)
        (inner.addLayout if isinstance(item, QLayout) else inner.addWidget)(item, stretch)
    page = EmptyOr(body, text)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(page)
    return page
