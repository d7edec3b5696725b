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
over the image. With ``local_channels`` the model also takes a spatial map
``local=`` (B, local_channels, H, W), e.g. where the digit should go: the map
and a small unmasked convolution of it (it is given, not generated, so it may
see the whole map) enter every layer's gates through 1×1 convolutions, the
paper's conditioning on a spatial representation.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._pixel_common import (
    PIXEL_HEAD_RENAMES,
    PixelHead,
    grouped_width,
    masked_weights,
    refresh_input,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import PIXELCNN_FAMILY, register_model
from arstudio.models.steppers import RasterStepper, raster_order
from arstudio.nn import CausalConv2d, channel_groups, gated_tanh


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
        hg = gated_tanh(h_pre)  # (B, h, H, W)
        # h_out and skip read the same hg: one 1×1 convolution gives both
        w = torch.cat([self.h_out.masked_weight(), self.skip.masked_weight()])
        out = F.conv2d(hg, w, torch.cat([self.h_out.bias, self.skip.bias]))
        h_new, skip = out.split([self.h_out.out_channels, self.skip.out_channels], 1)
        return gated_tanh(v_pre), (h_new if self.first else h_new + h), skip


@register_model(
    "gated-pixelcnn",
    family=PIXELCNN_FAMILY,
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
    config_renames = {"num_classes": "num_labels"}  # checkpoints before the shared names
    state_renames = PIXEL_HEAD_RENAMES  # checkpoints of the nn.Sequential head

    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # h: width of each stack
        layers: int = 8  # gated layers (vertical + horizontal)
        kernel: int = 5  # odd; vertical kernel (k//2+1)×k, horizontal 1×(k//2+1)
        skip_channels: int = 64  # width of the summed skip connections
        head_channels: int = 64  # hidden width of the output head
        output: str = "softmax"  # "softmax" (K-way) or "dmol" (logistic mixture)
        mixtures: int = 5  # logistic components per sub-pixel when output="dmol"
        num_labels: int = 0  # > 0: conditional on label= (class + location bias)
        location_channels: int = 8  # channels of s = deconv(one-hot label)
        local_channels: int = 0  # > 0: conditional on a map local= (B, local_channels, H, W)
        local_features: int = 8  # channels of tanh(conv(map)), each pixel's view of the map around it
        local_kernel: int = 7  # odd; that convolution's kernel (it sees the painted region's extent)

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, H, W = spec.shape
        if config.kernel % 2 == 0 or config.kernel < 3:
            raise ValueError("kernel must be odd and >= 3")
        h = grouped_width(config.channels, C)
        skip = grouped_width(config.skip_channels, C)
        cond_ch = 0
        if config.num_labels > 0:
            cond_ch = config.location_channels + config.num_labels
            # s = deconv(h): a (location_channels, H, W) map per class
            self.location = nn.ConvTranspose2d(config.num_labels, config.location_channels, (H, W))
        if config.local_channels > 0:
            if config.local_kernel % 2 == 0:
                raise ValueError("local_kernel must be odd")
            cond_ch += config.local_channels + config.local_features
            self.local_net = nn.Conv2d(config.local_channels, config.local_features,
                                       config.local_kernel, padding=config.local_kernel // 2)
        self.layers = nn.ModuleList(
            GatedLayer(C if i == 0 else h, h, config.kernel, C, i == 0, skip, cond_ch)
            for i in range(config.layers))
        self.head = PixelHead(skip, config.head_channels, spec, config.output, config.mixtures)

    @property
    def num_labels(self) -> int:
        return self.config.num_labels

    @property
    def uses_local(self) -> bool:
        return self.config.local_channels > 0

    @property
    def local_map(self):
        if not self.uses_local:
            return None
        return (self.config.local_channels, *self.spec.shape[1:])

    @property
    def order(self):
        return raster_order(self.spec.shape)

    def condition_map(self, label, n, local=None):
        """(n, cond_ch, H, W): the class part (one-hot h and s = deconv(h)) and the spatial
        part (the map and tanh(conv(map))) side by side; None for an unconditional model."""
        parts = []
        _, H, W = self.spec.shape
        if self.config.num_labels > 0:
            if label is None:
                raise ValueError("this model is class-conditional: pass label=")
            label = torch.as_tensor(label, device=self.device).long().expand(n)
            onehot = F.one_hot(label, self.config.num_labels).float()  # (n, classes)
            s = self.location(onehot[:, :, None, None])  # (n, loc, H, W)
            parts += [onehot[:, :, None, None].expand(-1, -1, H, W), s]
        if self.uses_local:
            want = (self.config.local_channels, H, W)
            if local is None:
                raise ValueError(f"this model is conditioned on a map: pass local= (n, {want})")
            local = torch.as_tensor(local, device=self.device).float()
            if tuple(local.shape[-3:]) != want:
                raise ValueError(f"local= must be (n, {want}), not {tuple(local.shape)}")
            local = local.expand(n, *want)  # (n, local_channels, H, W)
            parts += [local, torch.tanh(self.local_net(local))]
        return torch.cat(parts, 1) if parts else None

    def conditionals(self, x, label=None, local=None, **cond):
        s = self.scale_input(x)  # (B, C, H, W)
        c_map = self.condition_map(label, x.shape[0], local)
        v, h, skip = s, s, None
        for layer in self.layers:
            v, h, sk = layer(v, h, c_map)
            skip = sk if skip is None else skip + sk  # (B, skip, H, W)
        return self.head(skip)

    def feature_layers(self):
        # part 1: the horizontal stack, which also carries the vertical one through the link
        return [(f"layer {i + 1}", L, 1) for i, L in enumerate(self.layers)]

    def make_stepper(self, x, label=None, local=None, **cond):
        return GatedPixelCNNStepper(self, x, label, local)


class GatedPixelCNNStepper(RasterStepper):
    """The vertical stack once per row (it reads only earlier rows), the horizontal
    stack one pixel per layer per step."""

    def __init__(self, model: GatedPixelCNN, x, label=None, local=None):
        super().__init__(model)
        n, like, H, W = x.shape[0], x.float(), self.H, self.W
        self.weights = masked_weights(model)
        self.cond = model.condition_map(label, n, local)  # (n, cond_ch, H, W) or None
        self.v_in = [L.v.new_cache(n, H, W, like) for L in model.layers]  # vertical inputs
        self.h_in = [L.h.new_cache(n, H, W, like) for L in model.layers]  # horizontal inputs
        self.v_pre = [None] * len(model.layers)  # (n, 2h, W) of the current row
        self.v_next_row = 0  # first row whose vertical stack is not computed yet

    def vertical_row(self, x, r):
        """Vertical stack at row r: it reads only rows < r, all known by now."""
        layers, w = self.model.layers, self.weights
        if r > 0:
            layers[0].v.write_row(self.v_in[0], r - 1, self.model.scale_input(x[:, :, r - 1]))
        for i, L in enumerate(layers):
            v_pre = L.v.row(self.v_in[i], r, w[L.v])  # (n, 2h, W)
            if self.cond is not None:
                v_pre = v_pre + L.cond_v(self.cond[:, :, r: r + 1]).squeeze(2)
            self.v_pre[i] = v_pre
            if i + 1 < len(layers):
                layers[i + 1].v.write_row(self.v_in[i + 1], r, gated_tanh(v_pre))

    def compute_pixel(self, x, r, c):
        if self.v_next_row <= r:
            self.vertical_row(x, r)
            self.v_next_row = r + 1
        m, w = self.model, self.weights
        refresh_input(self.h_in[0], m.layers[0].h, m, x, r, c)
        h, skip = None, 0
        for i, L in enumerate(m.layers):
            h_pre = L.h.at(self.h_in[i], r, c, w[L.h])  # (n, 2h)
            if self.cond is not None:
                h_pre = h_pre + L.cond_h(self.cond[:, :, r: r + 1, c: c + 1]).flatten(1)
            h_pre = h_pre + L.link.pointwise(self.v_pre[i][:, :, c], w[L.link])
            hg = gated_tanh(h_pre)  # (n, h)
            h = L.h_out.pointwise(hg, w[L.h_out]) + (0 if L.first else h)
            skip = skip + L.skip.pointwise(hg, w[L.skip])
            if i + 1 < len(m.layers):
                m.layers[i + 1].h.write(self.h_in[i + 1], r, c, h)
        return skip  # (n, skip)
