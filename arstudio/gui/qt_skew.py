"""The Diagonal BiLSTM's skew: the image and its H×(W+H−1) skewed map, step by step.

Row r of the map is shifted right by r (:func:`arstudio.inspect.skew.skew_layout`,
read from the model's own ``skew``), so each diagonal of the image is one column;
the LSTM computes one column per step, all of its pixels at once. The slider
(and Play) walks the steps: yellow, the column computed now; blue, the ones
done. The backward direction runs on the mirrored image, right to left.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QLabel, QPushButton, QRadioButton, QSlider,
                               QVBoxLayout, QWidget)

from arstudio.gui.empty_state import fill_with_page
from arstudio.gui.pixelview import PixelView

DONE, NOW, LATER, EMPTY = (70, 130, 220), (250, 210, 40), (60, 60, 60), (245, 245, 245)


def step_colours(steps: np.ndarray, step: int, empty: np.ndarray | None = None) -> np.ndarray:
    out = np.empty((*steps.shape, 3), np.uint8)
    out[:] = LATER
    out[steps < step] = DONE
    out[steps == step] = NOW
    if empty is not None:
        out[empty] = EMPTY
    return out


class SkewPanel(QWidget):
    updated = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layout_ = None
        self.image_view = PixelView(min_cell=4)
        self.skew_view = PixelView(min_cell=4)
        self.step = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.step.valueChanged.connect(lambda _v: self._draw())
        self.step.setObjectName("skew_step")
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._play_toggled)
        self.timer = QTimer(self, interval=250)
        self.timer.timeout.connect(lambda: self.step.setValue((self.step.value() + 1) % (self.step.maximum() + 1)))
        self.direction = QButtonGroup(self)
        self.forward, self.backward = QRadioButton("left to right"), QRadioButton("right to left (mirrored)")
        self.forward.setChecked(True)
        for b in (self.forward, self.backward):
            self.direction.addButton(b)
            b.toggled.connect(lambda _on: self._draw())
        self.caption = QLabel(" ")
        self.caption.setWordWrap(True)
        intro = QLabel("The Diagonal BiLSTM (pixelrnn-diag, PixelRNN §3.2) shifts row r right by r, so "
                       "each diagonal of the image becomes a column of the skewed map; one LSTM step "
                       "computes a whole column from the one before it (the pixel to the left and the "
                       "one above). Yellow: computed at this step; blue: done; dark: later.")
        intro.setWordWrap(True)
        views = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        self.image_title, self.skew_title = QLabel("image"), QLabel("skewed")
        left.addWidget(self.image_title)
        left.addWidget(self.image_view, 1)
        right.addWidget(self.skew_title)
        right.addWidget(self.skew_view, 1)
        views.addLayout(left, 1)
        views.addLayout(right, 2)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("step"))
        controls.addWidget(self.step, 1)
        controls.addWidget(self.play)
        controls.addWidget(self.forward)
        controls.addWidget(self.backward)
        self.page = fill_with_page(self, [intro, (views, 1), controls, self.caption],
                                   "pick an image model (Samples tab) or open a run: the skew is "
                                   "drawn for its image size")

    def set_shape(self, shape):
        """The image's (C, H, W); anything else shows what to do instead."""
        if len(shape) != 3:
            self.layout_ = None
            self.page.show_empty("the skew is for images: pick an image model (the Diagonal BiLSTM, "
                                 "pixelrnn-diag, is the one that skews) in the Samples tab")
            return
        from arstudio.inspect.skew import skew_layout

        _, H, W = shape
        self.layout_ = skew_layout(H, W)
        self.step.setMaximum(self.layout_.steps - 1)
        self.image_title.setText(f"image {H}×{W}")
        self.skew_title.setText(f"skewed {H}×{W + H - 1}")
        self.page.show_content()
        self._draw()

    def _draw(self):
        lay = self.layout_
        if lay is None:
            return
        s = self.step.value()
        back = self.backward.isChecked()
        steps = lay.step_backward if back else lay.step
        self.image_view.set_rgb(step_colours(steps, s))
        skewed = lay.skewed
        if back:  # the mirrored image's skew: its place j holds the pixel of column W-1-c
            H, W = steps.shape
            numbers = np.where(skewed >= 0, (skewed // W) * W + (W - 1 - skewed % W), -1)
        else:
            numbers = skewed
        cols = np.broadcast_to(np.arange(skewed.shape[1]), skewed.shape)
        self.skew_view.set_rgb(step_colours(cols, s, empty=numbers < 0))
        n = int((steps == s).sum())
        self.caption.setText(f"step {s + 1} of {lay.steps}: column {s} of the skewed map, {n} pixel"
                             f"{'s' if n != 1 else ''} at once (the diagonal r + c = "
                             f"{s if not back else f'{s} of the mirrored image'})")
        self.updated.emit()

    def _play_toggled(self, on):
        self.play.setText("Pause" if on else "Play")
        (self.timer.start if on else self.timer.stop)()

    def hideEvent(self, event):
        self.play.setChecked(False)
        super().hideEvent(event)
