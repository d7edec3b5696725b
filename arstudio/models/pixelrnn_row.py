"""PixelRNN, Row LSTM: an LSTM that walks down the image one row at a time.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (section 3.1).

A mask-A k×k convolution reads the image; each Row LSTM layer then computes
the gates of a whole row at once from an input-to-state 1×k masked
convolution along the row (the current pixel's earlier colours and the
pixels to its left) plus a state-to-state 1×k convolution over the previous
row's hidden state. The context is a triangle above the pixel (it widens
by one column per row), plus the row to its left. Layers are residual.

Cached sampling (:class:`RowLSTMStepper`, a ``RasterStepper``): per
layer the state-to-state convolution of the previous row's state runs once
per row (that row is final when a row starts); at pixel (r, c) the masked
input-to-state convolution reads the layer's cached input along the row, and
one LSTM update gives the state and cell at (r, c) from the cell above.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._pixel_common import PIXEL_RNN_PAPER, RASTER_FACTORISATION, InputStepper
from arstudio.models._pixelrnn import PixelRNN, lstm_update
from arstudio.models.registry import PIXELRNN_FAMILY, register_model
from arstudio.nn import CausalConv2d, channel_groups


class RowLSTM(nn.Module):
    def __init__(self, h, kernel, C):
        super().__init__()
        # each of the four gates keeps the hidden units' colour groups
        self.input_to_state = CausalConv2d(h, 4 * h, (1, kernel), kernel // 2, "B", C,
                                           out_groups=channel_groups(h, C).repeat(4))
        # the previous row lies wholly before the current one: a plain convolution
        self.state_to_state = nn.Conv1d(h, 4 * h, kernel, padding=kernel // 2)
        self.out = CausalConv2d(h, h, (1, 1), 0, "B", C)

    def forward(self, x):  # (B, h, H, W)
        B, h, H, W = x.shape
        i2s = self.input_to_state(x)  # (B, 4h, H, W)
        state = cell = x.new_zeros(B, h, W)
        rows = []
        for r in range(H):
            state, cell = lstm_update(i2s[:, :, r] + self.state_to_state(state), cell)  # (B, h, W)
            rows.append(state)
        return x + self.out(torch.stack(rows, 2))


@register_model(
    "pixelrnn-row",
    family=PIXELRNN_FAMILY,
    paper=PIXEL_RNN_PAPER,
    summary=("Row LSTM: an LSTM over the rows of the image. Each row's gates come from a "
             "masked 1×k convolution along the row and a 1×k convolution of the previous "
             "row's state, so the context above is a triangle. Residual layers."),
    factorisation=RASTER_FACTORISATION,
    presets={"tiny": {"hidden": 16, "layers": 1, "first_kernel": 3, "head_channels": 16},
             "quick demo": {"hidden": 32, "layers": 2},
             "quality": {"hidden": 64, "layers": 6}},
)
class PixelRNNRow(PixelRNN):
    layer_name = "Row LSTM"

    @dataclass(frozen=True)
    class Config:
        hidden: int = 32  # LSTM units (and residual stream width)
        layers: int = 3  # Row LSTM layers
        kernel: int = 3  # input-to-state and state-to-state kernel width
        first_kernel: int = 7  # the mask-A input convolution (k×k)
        head_channels: int = 64  # hidden width of the output head
        output: str = "softmax"  # "softmax" or "dmol"
        mixtures: int = 5  # logistic components when output="dmol"

    def make_layers(self, h, C):
        return nn.Sequential(*[RowLSTM(h, self.config.kernel, C) for _ in range(self.config.layers)])

    def conditionals(self, x, **cond):
        return self.head(F.relu(self.layers(self.input(self.scale_input(x)))))

    def make_stepper(self, x, **cond):
        return RowLSTMStepper(self, x)


class RowLSTMStepper(InputStepper):
    """One LSTM step per layer per pixel; the state-to-state term once per row."""

    def __init__(self, model: PixelRNNRow, x):
        super().__init__(model, x)
        n, like, H, W = self.n, self.like, self.H, self.W
        h = model.input.out_channels
        self.layer_in = [L.input_to_state.new_cache(n, H, W, like) for L in model.layers]
        zeros = like.new_zeros(n, h, W)  # (n, h, W): the state and cell "above" row 0
        # per layer: the finished row above (state, cell) and the row being filled
        self.above = [(zeros, zeros)] * len(model.layers)
        self.current = [(zeros.clone(), zeros.clone()) for _ in model.layers]
        self.s2s = [None] * len(model.layers)  # (n, 4h, W) from the row above

    def start_row(self, r):
        """Row r begins: row r-1 is final, its state feeds every pixel of row r."""
        if r > 0:
            self.above = self.current
            self.current = [(torch.zeros_like(s), torch.zeros_like(c)) for s, c in self.above]
        self.s2s = [L.state_to_state(state) for L, (state, _) in zip(self.model.layers, self.above)]

    def compute_pixel(self, x, r, c):
        m, w = self.model, self.weights
        h = self.first_layer(x, r, c)  # (n, h)
        for i, L in enumerate(m.layers):
            L.input_to_state.write(self.layer_in[i], r, c, h)
            gates = L.input_to_state.at(self.layer_in[i], r, c, w[L.input_to_state])  # (n, 4h)
            state, cell = lstm_update(gates + self.s2s[i][:, :, c], self.above[i][1][:, :, c])
            self.current[i][0][:, :, c], self.current[i][1][:, :, c] = state, cell
            h = h + L.out.pointwise(state, w[L.out])
        return h  # (n, h)
