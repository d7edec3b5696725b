"""PixelRNN, Diagonal BiLSTM: LSTMs that sweep the image along its diagonals.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (section 3.2).

The input map is skewed (row r shifted right by r, n×n -> n×(2n-1)) so
that a diagonal becomes a column; an LSTM then walks the columns left to
right with a 1×1 input-to-state and a 2×1 column state-to-state
convolution, giving pixel (r, c) the state of (r, c-1) and (r-1, c). A
second LSTM does the same on the mirrored image; its output is shifted down
one row so that it only brings in rows above. Together every earlier pixel
is in the context (no blind spot). Residual connections between layers.
Because the mirrored direction is shifted down, its first layer may read
the whole current row: it gets its own "rows"-mode input convolution, which
is what brings the last column of the row above into the context.

Cached sampling (``make_stepper``): one LSTM step per direction, layer and
pixel, see :class:`~arstudio.models._pixelrnn_diag_cache.DiagonalBiLSTMStepper`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._pixel_common import PIXEL_RNN_PAPER, RASTER_FACTORISATION
from arstudio.models._pixelrnn import PixelRNN, lstm_update
from arstudio.models._pixelrnn_diag_cache import DiagonalBiLSTMStepper
from arstudio.models.registry import PIXELRNN_FAMILY, register_model
from arstudio.nn import CausalConv2d, channel_groups


def skew(x):  # (B, c, H, W) -> (B, c, H, W+H-1), row r moved right by r
    B, c, H, W = x.shape
    out = x.new_zeros(B, c, H, W + H - 1)
    for r in range(H):
        out[:, :, r, r: r + W] = x[:, :, r]
    return out


def unskew(y, W):  # inverse of skew: (B, c, H, W+H-1) -> (B, c, H, W)
    return torch.stack([y[:, :, r, r: r + W] for r in range(y.shape[2])], 2)


class DiagonalLSTM(nn.Module):
    """One direction: pixel (r, c) gets the state of (r, c-1) and (r-1, c)."""

    def __init__(self, h, C):
        super().__init__()
        self.input_to_state = CausalConv2d(h, 4 * h, (1, 1), 0, "B", C,
                                           out_groups=channel_groups(h, C).repeat(4))
        # column j-1 of the skewed map, rows r-1 and r: earlier pixels only
        self.state_to_state = nn.Conv1d(h, 4 * h, 2)

    def forward(self, x):  # (B, h, H, W)
        B, h, H, W = x.shape
        i2s = skew(self.input_to_state(x))  # (B, 4h, H, W+H-1)
        state = cell = x.new_zeros(B, h, H)
        cols = []
        for j in range(i2s.shape[-1]):
            s2s = self.state_to_state(F.pad(state, (1, 0)))  # (B, 4h, H): rows r-1, r
            state, cell = lstm_update(i2s[..., j] + s2s, cell)
            cols.append(state)
        return unskew(torch.stack(cols, -1), W)  # (B, h, H, W)


class DiagonalBiLSTM(nn.Module):
    def __init__(self, h, C):
        super().__init__()
        self.forward_dir, self.backward_dir = DiagonalLSTM(h, C), DiagonalLSTM(h, C)
        self.out = CausalConv2d(h, h, (1, 1), 0, "B", C)

    def forward(self, x, backward_input=None):  # (B, h, H, W) each
        left = self.forward_dir(x)
        back = x if backward_input is None else backward_input
        right = self.backward_dir(back.flip(-1)).flip(-1)  # sees rows <= r, columns >= c
        right = F.pad(right, (0, 0, 1, 0))[:, :, :-1]  # shifted down: rows < r only
        return x + self.out(left + right)


@register_model(
    "pixelrnn-diag",
    family=PIXELRNN_FAMILY,
    paper=PIXEL_RNN_PAPER,
    summary=("Diagonal BiLSTM: the image is skewed so that diagonals become columns; two "
             "LSTMs (left-to-right and mirrored, shifted down a row) sweep them with a 2×1 "
             "state-to-state convolution. The whole past is in context. Residual layers."),
    factorisation=RASTER_FACTORISATION,
    presets={"tiny": {"hidden": 16, "layers": 1, "first_kernel": 3, "head_channels": 16},
             "quick demo": {"hidden": 32, "layers": 2},
             "quality": {"hidden": 64, "layers": 7}},
)
class PixelRNNDiag(PixelRNN):
    layer_name = "Diagonal BiLSTM"

    @dataclass(frozen=True)
    class Config:
        hidden: int = 32  # LSTM units per direction (and residual width)
        layers: int = 3  # Diagonal BiLSTM layers (the paper uses up to 12)
        first_kernel: int = 7  # the mask-A input convolution (k×k)
        head_channels: int = 64  # hidden width of the output head
        output: str = "softmax"  # "softmax" or "dmol"
        mixtures: int = 5  # logistic components when output="dmol"

    def make_layers(self, h, C):
        k = self.config.first_kernel
        self.input_rows = CausalConv2d(C, h, (k // 2 + 1, k), k // 2, "rows")  # backward dir only
        return nn.ModuleList(DiagonalBiLSTM(h, C) for _ in range(self.config.layers))

    def conditionals(self, x, **cond):
        s = self.scale_input(x)
        h, back = self.input(s), self.input_rows(s)  # (B, h, H, W)
        for layer in self.layers:
            h, back = layer(h, back), None
        return self.head(F.relu(h))

    def make_stepper(self, x, **cond):
        return DiagonalBiLSTMStepper(self, x)
