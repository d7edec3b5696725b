"""Gated PixelCNN: vertical and horizontal stacks with gated activations.

van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves, Kavukcuoglu,
"Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016.

Two stacks remove PixelCNN's blind spot. The vertical stack sees every pixel
of the rows above (a widening cone); the horizontal stack sees the pixels to
the left on the current row and receives the vertical stack through a 1×1
link. Each layer is gated, tanh(W_f * x) ⊙ σ(W_g * x), the horizontal stack
is residual and every layer adds a skip connection to the output.

Here the vertical stack's first layer already reads strictly earlier rows
(``mode="above"``), which plays the role of the paper's down-shift. The
conditional variant adds, per layer, a class-dependent bias V h (h one-hot
of ``label=``) and a location-dependent bias V s with s = deconv(h), a map
over the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._pixel_common import (
    PixelHead,
    RasterStepper,
    grouped_width,
    masked_weights,
    refresh_input,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model
from arstudio.nn import CausalConv2d, channel_groups
from arstudio.nn.causal_conv2d import new_cache, pointwise, write_at, write_row


def gate(pre: torch.Tensor) -> torch.Tensor:
    """tanh(first half) ⊙ σ(second half) along the channel axis (dim 1)."""
    f, g = pre.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedLayer(nn.Module):
    """One vertical + horizontal layer. ``first``: reads the image (mode above / A)."""

    def __init__(self, in_ch, h, kernel, data_channels, first, skip_ch, cond_ch):
        super().__init__()
        gates = channel_groups(h, data_channels).repeat(2)  # f and g halves share groups
        k = kernel
        self.first = first
        self.v = CausalConv2d(in_ch, 2 * h, (k // 2 + 1, k), k // 2, "above" if first else "rows")
        self.h = CausalConv2d(in_ch, 2 * h, (1, k // 2 + 1), k // 2, "A" if first else "B",
                              data_channels, out_groups=gates)
        self.link = CausalConv2d(2 * h, 2 * h, (1, 1), 0, "rows")  # v only holds earlier rows
        self.h_out = CausalConv2d(h, h, (1, 1), 0, "B", data_channels)
        self.skip = CausalConv2d(h, skip_ch, (1, 1), 0, "B", data_channels)
        if cond_ch:
            # a class/location bias depends on the label only: no ordering constraint
            self.cond_v = nn.Conv2d(cond_ch, 2 * h, 1)
            self.cond_h = nn.Conv2d(cond_ch, 2 * h, 1)

    def forward(self, v, h, cond):  # (B, ., H, W) each; cond (B, cond_ch, H, W) or None
        v_pre = self.v(v)
        h_pre = self.h(h)
        if cond is not None:
            v_pre = v_pre + self.cond_v(cond)
            h_pre = h_pre + self.cond_h(cond)
        h_pre = h_pre + self.link(v_pre)
        hg = gate(h_pre)  # (B, h, H, W)
        h_new = self.h_out(hg) + (0 if self.first else h)
        return gate(v_pre), h_new, self.skip(hg)


@register_model(
    "gated-pixelcnn",
    family="PixelCNN family",
    modalities=("image",),
    paper=("van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves, Kavukcuoglu, Conditional "
           "Image Generation with PixelCNN Decoders, NeurIPS 2016"),
    summary=("PixelCNN with a vertical stack (rows above) and a horizontal stack (pixels to "
             "the left) joined by 1×1 links, tanh·sigmoid gates, residual and skip "
             "connections: no blind spot. Optional class conditioning (label=). Cached "
             "sampling computes one new pixel per layer per step."),
    factorisation="p(x | y) = prod over pixels (raster) and channels (R,G,B) of p(x_i | x_<i, y)",
    presets={"tiny": {"channels": 8, "layers": 2, "kernel": 3, "skip_channels": 8,
                      "head_channels": 8},
             "quick demo": {"channels": 32, "layers": 5},
             "quality": {"channels": 128, "layers": 10, "skip_channels": 256,
                         "head_channels": 256}},
)
class GatedPixelCNN(ARModel):
    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # h: width of each stack
        layers: int = 8  # gated layers (vertical + horizontal)
        kernel: int = 5  # odd; vertical kernel (k//2+1)×k, horizontal 1×(k//2+1)
        skip_channels: int = 64  # width of the summed skip connections
        head_channels: int = 64  # hidden width of the output head
        output: str = "softmax"  # "softmax" (K-way) or "dmol" (logistic mixture)
        mixtures: int = 5  # logistic components per sub-pixel when output="dmol"
        num_classes: int = 0  # > 0: conditional on label= (class + location bias)
        location_channels: int = 8  # channels of s = deconv(one-hot label)

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, H, W = spec.shape
        if config.kernel % 2 == 0 or config.kernel < 3:
            raise ValueError("kernel must be odd and >= 3")
        h = grouped_width(config.channels, C)
        skip = grouped_width(config.skip_channels, C)
        cond_ch = 0
        if config.num_classes > 0:
            cond_ch = config.location_channels + config.num_classes
            # s = deconv(h): a (location_channels, H, W) map per class
            self.location = nn.ConvTranspose2d(config.num_classes, config.location_channels, (H, W))
        self.layers = nn.ModuleList(
            GatedLayer(C if i == 0 else h, h, config.kernel, C, i == 0, skip, cond_ch)
            for i in range(config.layers))
        self.head = PixelHead(skip, config.head_channels, spec, config.output, config.mixtures)

    @property
    def uses_labels(self) -> bool:
        """Class-conditional (``num_classes`` > 0): the trainer passes ``label=``."""
        return self.config.num_classes > 0

    @property
    def order(self):
        C, H, W = self.spec.shape
        return torch.arange(C * H * W).view(C, H * W).t().reshape(-1)

    def condition_map(self, label, n):
        """(n, num_classes + location_channels, H, W): one-hot h and s = deconv(h), or None."""
        if self.config.num_classes == 0:
            return None
        if label is None:
            raise ValueError("this model is class-conditional: pass label=")
        _, H, W = self.spec.shape
        label = torch.as_tensor(label, device=self.device).long().expand(n)
        onehot = F.one_hot(label, self.config.num_classes).float()  # (n, classes)
        s = self.location(onehot[:, :, None, None])  # (n, loc, H, W)
        return torch.cat([onehot[:, :, None, None].expand(-1, -1, H, W), s], 1)

    def conditionals(self, x, label=None, **cond):
        s = self.scale_input(x)  # (B, C, H, W)
        c_map = self.condition_map(label, x.shape[0])
        v, h, skip = s, s, 0
        for layer in self.layers:
            v, h, sk = layer(v, h, c_map)
            skip = skip + sk  # (B, skip, H, W)
        return self.head(skip)

    # --- cached generation: v rows once per row, h one pixel per layer ----------
    def make_stepper(self, x, label=None, **cond):
        return RasterStepper(self, x, label=label)

    def _new_cache(self, x, label=None):
        n, (C, H, W) = x.shape[0], self.spec.shape
        st = {"w": masked_weights(self), "v_next_row": 0, "cond": self.condition_map(label, n)}
        st["v_in"] = [new_cache(L.v, n, L.v.weight.shape[1], H, W, x.float()) for L in self.layers]
        st["h_in"] = [new_cache(L.h, n, L.h.weight.shape[1], H, W, x.float()) for L in self.layers]
        st["v_pre"] = [None] * len(self.layers)  # (n, 2h, W) of the current row
        return st

    def _vertical_row(self, st, x, r):
        """Vertical stack at row r: it reads only rows < r, all known by now."""
        if r > 0:
            write_row(st["v_in"][0], self.layers[0].v, r - 1, self.scale_input(x[:, :, r - 1]))
        w = st["w"]
        for i, L in enumerate(self.layers):
            v_pre = L.v.row(st["v_in"][i], r, w[L.v])  # (n, 2h, W)
            if st["cond"] is not None:
                v_pre = v_pre + L.cond_v(st["cond"][:, :, r: r + 1]).squeeze(2)
            st["v_pre"][i] = v_pre
            if i + 1 < len(self.layers):
                write_row(st["v_in"][i + 1], self.layers[i + 1].v, r, gate(v_pre))

    def _compute_pixel(self, st, x, r, c):
        if st["v_next_row"] <= r:
            self._vertical_row(st, x, r)
            st["v_next_row"] = r + 1
        w = st["w"]
        refresh_input(st["h_in"][0], self.layers[0].h, self, x, r, c)
        h, skip = None, 0
        for i, L in enumerate(self.layers):
            h_pre = L.h.at(st["h_in"][i], r, c, w[L.h])  # (n, 2h)
            if st["cond"] is not None:
                h_pre = h_pre + L.cond_h(st["cond"][:, :, r: r + 1, c: c + 1]).flatten(1)
            h_pre = h_pre + pointwise(L.link, st["v_pre"][i][:, :, c], w[L.link])
            hg = gate(h_pre)  # (n, h)
            h = pointwise(L.h_out, hg, w[L.h_out]) + (0 if L.first else h)
            skip = skip + pointwise(L.skip, hg, w[L.skip])
            if i + 1 < len(self.layers):
                write_at(st["h_in"][i + 1], self.layers[i + 1].h, r, c, h)
        return skip  # (n, skip)
