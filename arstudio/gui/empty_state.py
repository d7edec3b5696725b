"""A page that is either its content or a sentence saying what to do: never a blank area."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget


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
