"""What the two PixelRNNs (Row LSTM, Diagonal BiLSTM) share (not a model itself).

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016. Both read the image with a mask-A k×k convolution (``input``), run
residual LSTM layers ``layers`` of width ``hidden`` (rounded to the colour
groups) and end in the :class:`~arstudio.models._pixel_common.PixelHead`; they
generate in raster order. The LSTM update itself is :func:`lstm_update`.
"""
from __future__ import annotations

import torch
from torch import nn

from arstudio.models._pixel_common import PIXEL_HEAD_RENAMES, PixelHead, RasterModel, grouped_width
from arstudio.nn import CausalConv2d


def lstm_update(gates, c_prev):
    """gates (B, 4h, ...) as [i, f, o, g] -> new (h, c)."""
    i, f, o, g = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class PixelRNN(RasterModel):
    """Base of both PixelRNNs: ``config`` has ``hidden``, ``layers``, ``first_kernel``,
    ``head_channels``, ``output`` and ``mixtures``; a subclass builds its LSTM layers
    in :meth:`make_layers` and names them ``layer_name`` in :meth:`feature_layers`."""

    state_renames = PIXEL_HEAD_RENAMES  # checkpoints of the nn.Sequential head
    layer_name = "LSTM layer"

    def __init__(self, spec, config):
        super().__init__(spec, config)
        C = spec.shape[0]
        h, k = grouped_width(config.hidden, C), config.first_kernel
        self.input = CausalConv2d(C, h, (k // 2 + 1, k), k // 2, "A", C)
        self.layers = self.make_layers(h, C)
        self.head = PixelHead(h, config.head_channels, spec, config.output, config.mixtures)

    def make_layers(self, h: int, C: int) -> nn.Module:
        """The residual LSTM layers (width h, C colour groups), iterable in order."""
        raise NotImplementedError

    def feature_layers(self):
        return [("mask A input", self.input, None)] + [
            (f"{self.layer_name} {i + 1}", L, None) for i, L in enumerate(self.layers)]
