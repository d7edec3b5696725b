"""Pieces the PixelCNN-family models share: the output head and the data
cache refresh of the cached raster steppers.

Output head: two ReLU + 1×1 colour-grouped (mask B) layers giving, per
sub-pixel, either K softmax logits or a discretized logistic mixture
(Salimans et al. 2017) over the K levels. Because the hidden features of
channel g already see channels < g of the same pixel, each channel gets its
own mixture and no explicit (alpha, beta, gamma) coupling is needed here
(PixelCNN++ couples its channels itself, see pixelcnn_pp.py).

Cached steppers ("Fast Generation for Convolutional Autoregressive Models",
Ramachandran et al. 2017; see :class:`arstudio.models.steppers.RasterStepper`):
every layer keeps a cache of its input. A value at pixel p of any layer
depends only on the data before p, so once the pixels before p are known it
is final; generating pixel p therefore needs exactly one new output per
layer, computed from a small window of the caches. Colour: sub-pixel g of p
recomputes pixel p (values of groups > g are recomputed again at the next
sub-step); after the last channel's sub-step pixel p is final, since nothing
at p depends on its last channel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical, DiscretizedLogisticMixture
from arstudio.models.base import ARModel
from arstudio.models.steppers import RasterStepper, raster_order
from arstudio.nn import CausalConv2d
from arstudio.nn.causal_conv2d import masked_weights

__all__ = ["OUTPUTS", "PIXEL_HEAD_RENAMES", "PIXEL_RNN_PAPER", "RASTER_FACTORISATION", "InputStepper", "PixelHead", "RasterModel", "grouped_width", "input_pixels",
           "masked_weights", "refresh_input"]

OUTPUTS = ("softmax", "dmol")
#: the paper of PixelCNN and both PixelRNNs (one paper introduced all three)
PIXEL_RNN_PAPER = "van den Oord, Kalchbrenner, Kavukcuoglu, Pixel Recurrent Neural Networks, ICML 2016"
#: the factorisation of the models that generate in :func:`~arstudio.models.steppers.raster_order`
RASTER_FACTORISATION = "p(x) = prod over pixels (raster) and channels (R,G,B) of p(x_i | x_<i)"


class RasterModel(ARModel):
    """An image model that generates pixels in raster order, channels inner
    (:func:`~arstudio.models.steppers.raster_order`, the order of a ``RasterStepper``)."""

    @property
    def order(self):
        return raster_order(self.spec.shape)


def grouped_width(channels: int, data_channels: int, minimum_per_group: int = 1) -> int:
    """Round ``channels`` to a multiple of the colour channels (at least one each)."""
    C = data_channels
    return max(channels, minimum_per_group * C) // C * C


class PixelHead(nn.Module):
    """ReLU-1×1-ReLU-1×1 (mask B, colour-grouped) -> Categorical or DMoL per sub-pixel."""

    def __init__(self, in_channels: int, hidden: int, spec, output: str = "softmax",
                 mixtures: int = 5):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        C, K = spec.shape[0], spec.levels
        per_channel = K if output == "softmax" else 3 * mixtures
        hid = grouped_width(hidden, C)
        self.hidden = CausalConv2d(in_channels, hid, (1, 1), 0, "B", C)
        self.out = CausalConv2d(hid, C * per_channel, (1, 1), 0, "B", C)
        self.C, self.K, self.output, self.M, self.per_channel = C, K, output, mixtures, per_channel

    def distribution(self, params: torch.Tensor):
        """params (..., per_channel) -> Conditionals with batch shape (...)."""
        if self.output == "softmax":
            return Categorical(params)
        M = self.M
        return DiscretizedLogisticMixture(params[..., :M], params[..., M: 2 * M],
                                          params[..., 2 * M:], self.K)

    def forward(self, h):  # (B, Cin, H, W) -> Conditionals (B, C, H, W)
        B, _, H, W = h.shape
        out = self.out(F.relu(self.hidden(F.relu(h))))  # (B, C*per, H, W)
        return self.distribution(out.view(B, self.C, self.per_channel, H, W).permute(0, 1, 3, 4, 2))

    def at(self, h, channel: int, weights=None):  # h (n, Cin) -> Conditionals (n,)
        w = weights or {}
        out = self.out.pointwise(F.relu(self.hidden.pointwise(F.relu(h), w.get(self.hidden))),
                                 w.get(self.out))  # (n, C*per)
        return self.distribution(out.view(h.shape[0], self.C, self.per_channel)[:, channel])


def input_pixels(r: int, c: int, width: int):
    """The pixel before (r, c) in raster order (now fully known) and (r, c) itself
    (its earlier channels known): the input entries a cache must refresh
    before computing pixel (r, c)."""
    p = r * width + c
    return [divmod(p - 1, width), (r, c)] if p > 0 else [(r, c)]


def refresh_input(cache, conv, model, x, r: int, c: int, data_column=None) -> None:
    """Write the data entries pixel (r, c) may read into ``conv``'s input cache: the
    pixel before it (now complete) and its own earlier channels. ``data_column(r, c)``
    maps the network's column to the data's (PixelSNAIL's zigzag); default itself."""
    for rr, cc in input_pixels(r, c, x.shape[-1]):
        dc = cc if data_column is None else data_column(rr, cc)
        conv.write(cache, rr, cc, model.scale_input(x[:, :, rr, dc]))


class InputStepper(RasterStepper):
    """A raster stepper for models whose first layer ``model.input`` reads the data: keeps
    the masked weights and that layer's padded input cache, and calls ``start_row(r)``
    when row r begins (row r-1 is final then)."""

    data_column = None  # (r, c) -> the data's column for the network's (PixelSNAIL zigzag)

    def __init__(self, model, x):
        super().__init__(model)
        self.n, self.like = x.shape[0], x.float()
        self.weights = masked_weights(model)
        self.input_cache = model.input.new_cache(self.n, self.H, self.W, self.like)
        self.row = -1  # the row being filled

    def start_row(self, r: int) -> None:
        pass

    def first_layer(self, x, r: int, c: int) -> torch.Tensor:
        """The input layer's output at (r, c), (n, Cout), after refreshing its cache."""
        m = self.model
        refresh_input(self.input_cache, m.input, m, x, r, c, self.data_column)
        if self.row < r:
            self.start_row(r)
            self.row = r
        return m.input.at(self.input_cache, r, c, self.weights[m.input])


# checkpoints written while PixelHead was an nn.Sequential: head.1 / head.3 -> named layers
PIXEL_HEAD_RENAMES = [(r"^head\.1\.", "head.hidden."), (r"^head\.3\.", "head.out.")]
