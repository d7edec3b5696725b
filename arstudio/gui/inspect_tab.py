"""The Inspect tab: a timeline for sequence models, mask connectivity for masked-linear ones.

Follows ``state.checkpoint``, but only works while visible: sampling a long
sequence must not hold pool threads that the visible tabs need. Which pages apply is decided from the model,
never from its name: a 1-D spec gets the timeline; a model with masked linear
layers (MADE, FVSBN, MASDE, found by the worker) gets the masks page.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from arstudio.gui.qt_connectivity import ConnectivityPanel
from arstudio.gui.qt_sequence_inspector import SequenceInspectorPanel


class InspectTab(QWidget):
    message = Signal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.note = QLabel("pick a model (Samples tab) or open a run to inspect it")
        self.note.setWordWrap(True)
        self.sequence = SequenceInspectorPanel(state)
        self.connectivity = ConnectivityPanel()
        for panel in (self.sequence, self.connectivity):
            panel.message.connect(self.message)
        self.connectivity.available.connect(self._masks_available)
        self.pages = QTabWidget()
        self.pages.addTab(self.sequence, "Timeline")
        self.pages.addTab(self.connectivity, "Masks")
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.pages, 1)
        self.pages.setTabEnabled(0, False)
        self.pages.setTabEnabled(1, False)
        self.shown_path = None  # the checkpoint on screen; work starts only while the tab is visible
        state.subscribe("checkpoint", self._checkpoint_changed)
        self._checkpoint_changed(state.get("checkpoint"))

    def _checkpoint_changed(self, path):
        if path is not None and self.isVisible():
            self.set_checkpoint(path)

    def showEvent(self, event):
        super().showEvent(event)
        path = self.state.get("checkpoint")
        if path is not None and path != self.shown_path:
            self.set_checkpoint(path)

    def set_checkpoint(self, path):
        from arstudio.checkpoint import CheckpointError, read_spec

        try:
            meta, spec = read_spec(path)
        except CheckpointError as e:
            self.note.setText(f"cannot open {path}: {e}")
            return
        self.shown_path = path
        sequence = len(spec.shape) == 1
        self.pages.setTabEnabled(0, sequence)
        self.pages.setTabEnabled(1, False)  # until the worker finds masks
        self.note.setText(f"{meta['model']} · {spec.describe()}" +
                          ("" if sequence else " — the timeline needs 1-D data"))
        if sequence:
            self.sequence.set_model(path, meta, spec)
            self.pages.setCurrentIndex(0)
        self.connectivity.set_model(path, meta)

    def _masks_available(self, ok: bool):
        self.pages.setTabEnabled(1, ok)
        if ok and not self.pages.isTabEnabled(0):
            self.pages.setCurrentIndex(1)
