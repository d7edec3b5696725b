"""Pieces the PixelCNN-family models share: the output head and the cached
raster stepper.

Output head: two ReLU + 1×1 colour-grouped (mask B) layers giving, per
sub-pixel, either K softmax logits or a discretized logistic mixture
(Salimans et al. 2017) over the K levels. Because the hidden features of
channel g already see channels < g of the same pixel, each channel gets its
own mixture and no explicit (alpha, beta, gamma) coupling is needed here
(PixelCNN++ couples its channels itself, see pixelcnn_pp.py).

Cached stepper ("Fast Generation for Convolutional Autoregressive Models",
Ramachandran et al. 2017): every layer keeps a cache of its input. A value
at pixel p of any layer depends only on the data before p, so once the
pixels before p are known it is final; generating pixel p therefore needs
exactly one new output per layer, computed from a small window of the
caches. Colour: sub-pixel g of p recomputes pixel p (values of groups > g
are recomputed again at the next sub-step); after the last channel's
sub-step pixel p is final, since nothing at p depends on its last channel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical, DiscretizedLogisticMixture
from arstudio.nn import MaskedConv2d
from arstudio.nn.causal_conv2d import pointwise, write_at

OUTPUTS = ("softmax", "dmol")


def grouped_width(channels: int, data_channels: int, minimum_per_group: int = 1) -> int:
    """Round ``channels`` to a multiple of the colour channels (at least one each)."""
    C = data_channels
    return max(channels, minimum_per_group * C) // C * C


class PixelHead(nn.Sequential):
    """ReLU-1×1-ReLU-1×1 (mask B, colour-grouped) -> Categorical or DMoL per sub-pixel."""

    def __init__(self, in_channels: int, hidden: int, spec, output: str = "softmax",
                 mixtures: int = 5):
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        C, K = spec.shape[0], spec.levels
        per_channel = K if output == "softmax" else 3 * mixtures
        hid = grouped_width(hidden, C)
        super().__init__(nn.ReLU(), MaskedConv2d(in_channels, hid, 1, "B", C),
                         nn.ReLU(), MaskedConv2d(hid, C * per_channel, 1, "B", C))
        self.C, self.K, self.output, self.M, self.per_channel = C, K, output, mixtures, per_channel

    @property
    def hidden(self):
        return self[1]

    @property
    def out(self):
        return self[3]

    def distribution(self, params: torch.Tensor):
        """params (..., per_channel) -> Conditionals with batch shape (...)."""
        if self.output == "softmax":
            return Categorical(params)
        M = self.M
        return DiscretizedLogisticMixture(params[..., :M], params[..., M: 2 * M],
                                          params[..., 2 * M:], self.K)

    def forward(self, h):  # (B, Cin, H, W) -> Conditionals (B, C, H, W)
        B, _, H, W = h.shape
        out = super().forward(h)  # (B, C*per, H, W)
        return self.distribution(out.view(B, self.C, self.per_channel, H, W).permute(0, 1, 3, 4, 2))

    def at(self, h, channel: int, weights=None):  # h (n, Cin) -> Conditionals (n,)
        w = weights or {}
        out = pointwise(self.out, F.relu(pointwise(self.hidden, F.relu(h), w.get(self.hidden))),
                        w.get(self.out))  # (n, C*per)
        return self.distribution(out.view(h.shape[0], self.C, self.per_channel)[:, channel])


def masked_weights(model: nn.Module) -> dict:
    """weight * mask of every masked layer, computed once for a whole sampling run."""
    return {m: (m.weight * m.mask).detach() for m in model.modules()
            if hasattr(m, "mask") and isinstance(getattr(m, "weight", None), torch.Tensor)}


def input_pixels(r: int, c: int, width: int):
    """The pixel before (r, c) in raster order (now fully known) and (r, c) itself
    (its earlier channels known): the input entries a cache must refresh
    before computing pixel (r, c)."""
    p = r * width + c
    return [divmod(p - 1, width), (r, c)] if p > 0 else [(r, c)]


def refresh_input(cache, conv, model, x, r: int, c: int) -> None:
    """Write the data entries pixel (r, c) may read into ``conv``'s input cache: the
    pixel before it (now complete) and its own earlier channels."""
    for rr, cc in input_pixels(r, c, x.shape[-1]):
        write_at(cache, conv, rr, cc, model.scale_input(x[:, :, rr, cc]))


class RasterStepper:
    """Cached generation for models over (C, H, W) in raster order, channels inner.

    The model provides ``_new_cache(x, **cond) -> state``,
    ``_compute_pixel(state, x, r, c) -> features`` (every layer's value at
    pixel (r, c), written into the caches) and
    a ``PixelHead`` as ``model.head``, read at those features with the masked
    weights the state keeps in ``state["w"]``.
    Pixels skipped by completion (known everywhere) are caught up on the next
    call, so the caches always hold every pixel before the one asked for.
    """

    def __init__(self, model, x, **cond):
        self.model = model
        self.C, self.H, self.W = model.spec.shape
        self.next_pixel = 0  # first pixel whose cached values are not final yet
        self.state = model._new_cache(x, **cond)

    def internal_pixel(self, pixel: int) -> int:
        """The pixel the network computes for data pixel ``pixel`` (raster: itself)."""
        return pixel

    def conditional(self, index: int, x: torch.Tensor):
        channel, pixel = divmod(index, self.H * self.W)
        pixel = self.internal_pixel(pixel)
        features = None
        for q in range(self.next_pixel, pixel + 1):
            features = self.model._compute_pixel(self.state, x, q // self.W, q % self.W)
        # nothing at a pixel depends on its last channel: then the pixel is final
        self.next_pixel = pixel + 1 if channel == self.C - 1 else pixel
        return self.model.head.at(features, channel, self.state["w"])
