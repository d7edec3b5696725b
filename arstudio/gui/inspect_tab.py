"""The Inspect tab: a timeline for sequence models, mask connectivity for masked-linear ones,
and for image models receptive-field growth, convolution masks, attention maps and the skew.

Follows ``state.checkpoint``, but only works while visible: sampling a long
sequence must not hold pool threads that the visible tabs need. Which pages apply is decided from the model,
never from its name: a 1-D spec gets the timeline; a model with masked linear
layers (MADE, FVSBN, MASDE, found by the worker) gets the masks page; an image
spec gets the image pages, each of which finds what it draws in the model's
layers. A page that does not apply says what to do instead of staying blank.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from arstudio.gui.empty_state import EmptyOr
from arstudio.gui.qt_attention import AttentionPanel
from arstudio.gui.qt_connectivity import ConnectivityPanel
from arstudio.gui.qt_conv_masks import ConvMaskPanel
from arstudio.gui.qt_growth import GrowthPanel
from arstudio.gui.qt_sequence_inspector import SequenceInspectorPanel
from arstudio.gui.qt_skew import SkewPanel

NO_MODEL = "pick a model (Samples tab) or open a run (File → Open run) to inspect it"
NO_TIMELINE = ("the timeline is for 1-D models (WaveNet, the causal-conv ARM, the text models): pick "
               "one in the Samples tab; for an image model see Receptive field, Conv masks, Attention "
               "and Skew")
NO_MASKS = ("masked-linear models (MADE, FVSBN, MASDE) show their masks and what reaches each output "
            "here: pick one in the Samples tab; the convolution masks of image models are on Conv masks")
NOT_IMAGE = "this page is for image models: pick one (PixelCNN, PixelRNN, PixelSNAIL …) in the Samples tab"


class InspectTab(QWidget):
    message = Signal(str)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.note = QLabel(NO_MODEL)
        self.note.setWordWrap(True)
        self.sequence = SequenceInspectorPanel(state)
        self.connectivity = ConnectivityPanel()
        self.growth = GrowthPanel()
        self.conv_masks = ConvMaskPanel()
        self.attention = AttentionPanel()
        self.skew = SkewPanel()
        for panel in (self.sequence, self.connectivity, self.growth, self.conv_masks, self.attention):
            panel.message.connect(self.message)
        self.connectivity.available.connect(self._masks_available)
        self.timeline_page = EmptyOr(self.sequence, NO_MODEL)
        self.masks_page = EmptyOr(self.connectivity, NO_MODEL)
        self.conv_page = EmptyOr(self.conv_masks, NO_MODEL)
        self.attention_page = EmptyOr(self.attention, NO_MODEL)
        self.pages = QTabWidget()
        self.pages.addTab(self.timeline_page, "Timeline")
        self.pages.addTab(self.masks_page, "Masks")
        self.pages.addTab(self.growth, "Receptive field")
        self.pages.addTab(self.conv_page, "Conv masks")
        self.pages.addTab(self.attention_page, "Attention")
        self.pages.addTab(self.skew, "Skew")
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.pages, 1)
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
        image = len(spec.shape) == 3
        self.note.setText(f"{meta['model']} · {spec.describe()}")
        self.masks_page.show_empty("looking for masked linear layers…")  # until the worker answers
        if sequence:
            self.timeline_page.show_content()
            self.sequence.set_model(path, meta, spec)
            self.pages.setCurrentIndex(0)
        else:
            self.timeline_page.show_empty(NO_TIMELINE)
        self.connectivity.set_model(path, meta)
        self.skew.set_shape(spec.shape)
        if image:
            self.growth.set_model(path)
            self.conv_page.show_content()
            self.attention_page.show_content()
            self.conv_masks.set_model(path)
            self.attention.set_model(path)
            if self.pages.currentIndex() in (0, 1):
                self.pages.setCurrentIndex(2)
        else:
            self.conv_page.show_empty(NOT_IMAGE)
            self.attention_page.show_empty(NOT_IMAGE)

    def saved_views(self) -> tuple[list[list[QWidget]], dict] | None:
        """What File → Save image… saves here: the views of the page on screen, as rows of
        widgets (side by side within a row, rows one under the other), and their facts; None
        while the page shows only what to do (no model, still computing)."""
        page = self.pages.currentWidget()
        facts = {"View": f"Inspect · {self.pages.tabText(self.pages.currentIndex())}"}
        if (isinstance(page, EmptyOr) and page.is_empty) or (getattr(page, "page", None) is not None
                                                              and page.page.is_empty):
            return None
        if page is self.timeline_page:  # the sequence on its timeline, the dependency tree, the chart
            s = self.sequence
            if s.x is None:
                return None
            rows = [[s.timeline]] + ([[s.tree_plot]] if s.tree_plot.isVisible() else [])
            if s.t is not None:
                rows.append([s.chart])
                facts.update({"Time step": s.t, "Conditional": s.details.text()})
            return rows, facts
        if page is self.masks_page:
            return [[self.connectivity.view]], {**facts, "Masks": self.connectivity.title.text()}
        if page is self.growth:  # each model's image with the field of the depth shown
            g = self.growth
            columns = [c for c in g.columns if c.result is not None and not c.page.is_empty]
            if not columns:
                return None
            if g.pixel is not None:
                facts["Pixel"] = f"({g.pixel[0]}, {g.pixel[1]})"
            facts.update({f"Field {i + 1}": c.caption.text() for i, c in enumerate(columns)})
            return [[c.view for c in columns]], facts
        if page is self.conv_page:
            if not self.conv_masks.cards:
                return None
            return [[self.conv_masks.holder]], facts
        if page is self.attention_page:
            a = self.attention
            if a.result is None:
                return None
            facts.update({"Layer": a.layer.currentText(), "Attention": a.caption.text()})
            if a.pixel is not None:
                facts["Pixel"] = f"({a.pixel[0]}, {a.pixel[1]})"
            return [[a.image_view] + [v for v in a.head_views if not v.isHidden()]], facts
        if page is self.skew:
            return [[self.skew.image_view, self.skew.skew_view]], {**facts, "Step": self.skew.caption.text()}
        return None

    def lesson_highlight(self, value):
        """A lesson's highlight: [row, col] is the pixel of the receptive-field and attention pages."""
        if isinstance(value, (list, tuple)) and len(value) == 2:
            self.growth.select_pixel(int(value[0]), int(value[1]))
            self.attention.select_pixel(int(value[0]), int(value[1]))

    def _masks_available(self, ok: bool):
        if ok:
            self.masks_page.show_content()
            if self.timeline_page.is_empty:
                self.pages.setCurrentIndex(1)
        else:
            self.masks_page.show_empty(NO_MASKS)
