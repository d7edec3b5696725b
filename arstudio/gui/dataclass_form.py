"""A form with one editor per field of a dataclass, shared by the model picker (a model's
Config) and the Add dataset dialog (a loader's options).

:class:`DataclassForm` lays out the rows: the field's name as the label, the comment
beside the field in its source as the tooltip of both, an objectName per editor
(``object_prefix`` + field name) and the defaults, and reads and writes the editors'
values (``value``, ``set_value``: check box, drop-down, spin boxes, free text).
Subclasses choose the editors (``_editor_for``) and how free text is written and read
(``text_of``, ``read_text``).
"""
from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from arstudio.config_check import field_comments


def field_default(f: dataclasses.Field):
    """A dataclass field's default (its factory's value), None where it has none."""
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


class DataclassForm(QWidget):
    changed = Signal()
    object_prefix = ""  # each editor's objectName: this + the field's name

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.editors: dict[str, QWidget] = {}
        self.defaults: dict = {}

    def label_text(self, name: str) -> str:
        return name

    def _editor_for(self, name: str, default) -> QWidget:
        raise NotImplementedError

    def text_of(self, value) -> str:
        """A value as a free-text editor shows it."""
        return str(value)

    def read_text(self, name: str, text: str):
        """A free-text editor's value."""
        return text.strip()

    def value(self, name: str):
        w = self.editors[name]
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            return w.value()
        return self.read_text(name, w.text())

    def set_value(self, name: str, value) -> None:
        w = self.editors[name]
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, QSpinBox):
            w.setValue(int(value))
        elif isinstance(w, QDoubleSpinBox):
            w.setValue(float(value))
        else:
            w.setText(self.text_of(value))

    def set_values(self, values: dict) -> None:
        """Several settings at once, announced as one change by the caller: a form half set
        is no configuration (each field's own signal started a build of a model nobody asked
        for, such as a PixelCNN with a kernel of 0 while a model's defaults were filled in)."""
        blocked = self.blockSignals(True)
        try:
            for name, value in values.items():
                self.set_value(name, value)
        finally:
            self.blockSignals(blocked)

    def set_fields(self, cls) -> bool:
        """One row per field of ``cls`` (none for None); False when there is no ``cls``."""
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.editors, self.defaults = {}, {}
        if cls is None:
            return False
        comments = field_comments(cls)
        for f in dataclasses.fields(cls):
            default = field_default(f)
            editor = self._editor_for(f.name, default)
            tip = comments.get(f.name, "")
            editor.setToolTip(tip)
            editor.setObjectName(f"{self.object_prefix}{f.name}")
            self.editors[f.name] = editor
            self.defaults[f.name] = default
            label = QLabel(self.label_text(f.name))
            label.setToolTip(tip)
            self.layout_.addRow(label, editor)
        return True

    def differing(self) -> dict:
        """The fields whose value differs from the default."""
        return {k: v for k in self.editors if (v := self.value(k)) != self.defaults[k]}
