"""Small layout helpers shared by the panels."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget


def titled(title: str, view: QWidget, *below: QWidget) -> QVBoxLayout:
    """A caption above a view that takes the room, then any widgets below it (notes)."""
    column = QVBoxLayout()
    column.addWidget(QLabel(title))
    column.addWidget(view, 1)
    for w in below:
        column.addWidget(w)
    return column


def left_row(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side from the left; the rest of the row stays empty."""
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row
