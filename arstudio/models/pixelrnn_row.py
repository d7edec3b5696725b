"""PixelRNN, Row LSTM: an LSTM that walks down the image one row at a time.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (section 3.1).

A mask-A k×k convolution reads the image; each Row LSTM layer then computes
the gates of a whole row at once from an input-to-state 1×k masked
convolution along the row (the current pixel's earlier colours and the
pixels to its left) plus a state-to-state 1×k convolution over the previous
row's hidden state. The context is a triangle above the pixel (it widens
by one column per row), plus the row to its left. Layers are residual.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._pixel_common import PixelHead, grouped_width
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model
from arstudio.nn import CausalConv2d, channel_groups


def lstm_update(gates, c_prev):
    """gates (B, 4h, ...) as [i, f, o, g] -> new (h, c)."""
    i, f, o, g = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


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
    family="PixelRNN family",
    modalities=("image",),
    paper="van den Oord, Kalchbrenner, Kavukcuoglu, Pixel Recurrent Neural Networks, ICML 2016",
    summary=("Row LSTM: an LSTM over the rows of the image. Each row's gates come from a "
             "masked 1×k convolution along the row and a 1×k convolution of the previous "
             "row's state, so the context above is a triangle. Residual layers."),
    factorisation="p(x) = prod over pixels (raster) and channels (R,G,B) of p(x_i | x_<i)",
    presets={"tiny": {"hidden": 16, "layers": 1, "first_kernel": 3, "head_channels": 16},
             "quick demo": {"hidden": 32, "layers": 2},
             "quality": {"hidden": 64, "layers": 6}},
)
class PixelRNNRow(ARModel):
    @dataclass(frozen=True)
    class Config:
        hidden: int = 32  # LSTM units (and residual stream width)
        layers: int = 3  # Row LSTM layers
        kernel: int = 3  # input-to-state and state-to-state kernel width
        first_kernel: int = 7  # the mask-A input convolution (k×k)
        head_channels: int = 64  # hidden width of the output head
        output: str = "softmax"  # "softmax" or "dmol"
        mixtures: int = 5  # logistic components when output="dmol"

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C = spec.shape[0]
        h, k = grouped_width(config.hidden, C), config.first_kernel
        self.input = CausalConv2d(C, h, (k // 2 + 1, k), k // 2, "A", C)
        self.layers = nn.Sequential(*[RowLSTM(h, config.kernel, C) for _ in range(config.layers)])
        self.head = PixelHead(h, config.head_channels, spec, config.output, config.mixtures)

    @property
    def order(self):
        C, H, W = self.spec.shape
        return torch.arange(C * H * W).view(C, H * W).t().reshape(-1)

    def conditionals(self, x, **cond):
        return self.head(F.relu(self.layers(self.input(self.scale_input(x)))))
