"""Data → Add dataset…: bring one's own files into the studio, with a live preview.

Kind (image folder, IDX, CIFAR, NumPy, audio folder, text file), a path, and the
loader's options (the fields of its options dataclass, e.g.
:class:`~arstudio.data.image_files.ImageFolderOptions`: size H×W with crop or
resize, grey or RGB, levels with threshold or sampling, split fractions, seed).
Every change reloads the preview in a pool thread (the newest request wins): a
grid of a few decoded examples, the shape, levels and split counts, and the
files skipped, each with its reason. An empty or unreadable folder is one
message. Add remembers the dataset (:mod:`arstudio.gui.user_datasets`) and lists
it in the Train tab's picker; the data name carries the options, so a run
trains exactly what the preview showed.
"""
from __future__ import annotations


from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.dataclass_form import DataclassForm
from arstudio.gui.qimage import pixmap_from_rgb
from arstudio.gui.user_datasets import KINDS, entry_from_preview, preview, remember
from arstudio.gui.workers import run_job

DEBOUNCE_MS = 250  # typing a size or a path reloads once it pauses
CHOICES = {  # string options with a fixed set of values: a drop-down instead of free text
    "fit": ("crop", "resize"),
    "colour": ("auto", "grey", "rgb"),
    "binarize": ("threshold", "sample"),
    "modality": ("auto", "image", "sequence", "vector"),
}
ERROR_PREFIXES = ("DataError: ", "SettingsError: ", "ValueError: ", "KeyError: ", "OSError: ")


def user_message(text: str) -> str:
    for p in ERROR_PREFIXES:
        text = text.removeprefix(p)
    return text.strip().strip('"')


class OptionsForm(DataclassForm):
    """One editor per field of a loader's options dataclass (the comment beside it is the tooltip)."""

    object_prefix = "data_option_"

    def set_options(self, cls) -> None:
        if not self.set_fields(cls):
            self.layout_.addRow(QLabel("this kind has no options"))

    def _editor_for(self, name: str, default) -> QWidget:
        if name in CHOICES:
            w = QComboBox()
            w.addItems(CHOICES[name])
            w.setCurrentText(str(default))
            w.currentTextChanged.connect(self.changed)
        elif isinstance(default, int):
            w = QSpinBox(minimum=0, maximum=1_000_000, value=default)
            w.valueChanged.connect(self.changed)
        else:
            w = QLineEdit(str(default))
            w.textChanged.connect(self.changed)
        return w

    def options(self) -> dict:
        """The options that differ from the defaults (what the data name then records)."""
        return self.differing()


class AddDatasetDialog(QDialog):
    added = Signal(dict)  # the remembered entry (see arstudio.gui.user_datasets)

    def __init__(self, parent=None):
        super().__init__(parent)
        from arstudio.data.registry import list_prefixes

        self.setWindowTitle("Add dataset")
        self.prefixes = {p.prefix: p for p in list_prefixes()}
        self.kinds = [k for k in KINDS if k[0] in self.prefixes]
        self.facts: dict | None = None  # the last preview that loaded, for the current choice
        self._request = 0
        self._loading = False

        self.kind = QComboBox()
        for prefix, text, _ in self.kinds:
            self.kind.addItem(text, prefix)
        self.path = QLineEdit()
        self.path.setPlaceholderText("a folder or file on this computer")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.form = OptionsForm()
        self.picture = QLabel()
        self.picture.setObjectName("preview_grid")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(320, 120)
        self.text = QLabel()
        self.text.setObjectName("preview_text")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setStyleSheet("QLabel { font-family: monospace; }")
        self.text.hide()
        self.summary = QLabel("choose a folder or file")
        self.summary.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("QLabel { background: #fde2e1; color: #7a1210; padding: 6px; border-radius: 4px; }")
        self.error.hide()
        self.skipped_title = QLabel("Skipped files:")
        self.skipped = QListWidget()
        self.skipped.setMaximumHeight(110)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(self.browse)
        top = QFormLayout()
        top.addRow("Kind", self.kind)
        top.addRow("Path", where)
        options = QGroupBox("Options")
        QVBoxLayout(options).addWidget(self.form)
        shown = QGroupBox("Preview")
        sl = QVBoxLayout(shown)
        sl.addWidget(self.picture, 1)
        sl.addWidget(self.text)
        sl.addWidget(self.summary)
        sl.addWidget(self.error)
        sl.addWidget(self.skipped_title)
        sl.addWidget(self.skipped)
        body = QHBoxLayout()
        body.addWidget(options)
        body.addWidget(shown, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self._show_skipped([])

        self.timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self.timer.timeout.connect(self.refresh)
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.path.textChanged.connect(lambda _t: self._changed())
        self.form.changed.connect(self._changed)
        self._kind_changed()

    # --- the choice ------------------------------------------------------------------
    def prefix(self) -> str:
        return self.kind.currentData()

    def set_kind(self, prefix: str) -> None:
        i = self.kind.findData(prefix)
        if i < 0:
            raise KeyError(f"no loader for {prefix!r} here")
        self.kind.setCurrentIndex(i)

    def ref(self) -> str | None:
        """The data name for the current choice, options included; None without a path."""
        from arstudio.data.registry import data_ref

        path = self.path.text().strip()
        if not path:
            return None
        return data_ref(f"{self.prefix()}:{path}", self.form.options())

    def _kind_changed(self) -> None:
        self.form.set_options(self.prefixes[self.prefix()].options)
        self._changed()

    def _browse(self) -> None:
        folder = {p: w for p, _, w in self.kinds}[self.prefix()] == "folder"
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", self.path.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.path.text())
        if path:
            self.path.setText(path)

    def _changed(self) -> None:
        self.facts = None
        self.add_button.setEnabled(False)
        self.timer.start()

    # --- the preview ------------------------------------------------------------------
    def loading(self) -> bool:
        """A preview is pending or being read (tests wait on this)."""
        return self.timer.isActive() or self._loading

    def refresh(self) -> None:
        self.timer.stop()
        ref = self.ref()
        self._request += 1
        request = self._request
        if ref is None:
            self._loading = False
            self._show_error(None)
            self.summary.setText("choose a folder or file")
            return
        self._loading = True
        self.summary.setText("reading…")

        def done(facts):
            if request == self._request:
                self._loading = False
                self._show(facts)

        def failed(text):
            if request == self._request:
                self._loading = False
                self._show_error(user_message(text))

        run_job(preview, ref, on_done=done, on_error=failed, owner=self)

    def _show(self, facts: dict) -> None:
        self.facts = facts
        self.error.hide()
        if facts["picture"] is not None:
            p = pixmap_from_rgb(facts["picture"])
            self.picture.setPixmap(p)
        else:
            self.picture.clear()
        self.text.setVisible(facts["text"] is not None)
        self.text.setText(facts["text"] or "")
        tr, va, te = facts["counts"]
        classes = facts["classes"]
        self.summary.setText(
            f"{facts['describe']}; {tr:,} train / {va:,} val / {te:,} test"
            + (f"; {len(classes)} classes: {', '.join(classes[:12])}" + (" …" if len(classes) > 12 else "")
               if classes else "")
            + f"\n{facts['description']}\nLicence/source: {facts['license']}"
            + f"\nshown: the first {facts['examples']} training examples")
        self._show_skipped(facts["skipped"])
        self.add_button.setEnabled(True)

    def _show_error(self, text: str | None) -> None:
        self.facts = None
        self.picture.clear()
        self.text.hide()
        self._show_skipped([])
        self.add_button.setEnabled(False)
        if text:
            self.summary.setText("nothing to add")
            self.error.setText(text)
            self.error.show()
        else:
            self.error.hide()

    def _show_skipped(self, lines: list[str]) -> None:
        self.skipped.clear()
        self.skipped.addItems(lines)
        self.skipped_title.setText(f"Skipped files ({len(lines)}):")
        self.skipped_title.setVisible(bool(lines))
        self.skipped.setVisible(bool(lines))

    # --- adding ---------------------------------------------------------------------------
    def accept(self) -> None:
        if self.facts is None or self.facts["ref"] != self.ref():
            return
        entry = entry_from_preview(self.facts, self.prefix(), self.path.text().strip(), self.form.options())
        try:
            remember(entry)
        except OSError as e:
            self._show_error(f"could not remember the dataset: {e}")
            return
        self.added.emit(entry)
        super().accept()
