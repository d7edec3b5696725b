"""The Diagonal BiLSTM's skew and the order in which it computes (PixelRNN, section 3.2).

The Diagonal LSTM shifts row r of an H×W map right by r, so every diagonal of
the image becomes a column of an H×(W+H−1) map; one LSTM step then computes a
whole column at once from the column before it (a 2×1 state-to-state
convolution: the pixel to the left and the one above). :func:`skew_layout`
reads the layout from the model's own :func:`~arstudio.models.pixelrnn_diag.skew`
(applied to a map of pixel numbers) and gives each pixel the step at which each
direction computes it. The backward direction runs on the mirrored image, so
its steps go right to left; its output is then shifted down one row so that a
pixel only sees rows above it through it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arstudio.models.pixelrnn_diag import skew


@dataclass
class SkewLayout:
    skewed: np.ndarray  # (H, W+H-1) pixel number r·W+c at each skewed place, -1 where empty
    step: np.ndarray  # (H, W): the LSTM step (skewed column) that computes each pixel, forward
    step_backward: np.ndarray  # (H, W): the same for the backward (mirrored) direction

    @property
    def steps(self) -> int:
        return self.skewed.shape[1]


def _columns(skewed: np.ndarray, H: int, W: int) -> np.ndarray:
    step = np.full(H * W, -1)
    rows, cols = np.nonzero(skewed >= 0)
    step[skewed[rows, cols]] = cols
    return step.reshape(H, W)


def skew_layout(height: int, width: int) -> SkewLayout:
    numbers = torch.arange(1, height * width + 1, dtype=torch.float32).view(1, 1, height, width)
    forward = skew(numbers)[0, 0].long().numpy() - 1  # empty places were zeros -> -1
    backward = skew(numbers.flip(-1))[0, 0].long().numpy() - 1
    return SkewLayout(forward, _columns(forward, height, width), _columns(backward, height, width))
