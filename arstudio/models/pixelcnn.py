"""PixelCNN: masked convolutions over the raster order.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (section 3.5). A mask-A 7×7 convolution that cannot see the current
pixel, residual blocks of mask-B convolutions, and a K-way softmax per
sub-pixel (``output="softmax"``) or a discretized logistic mixture
(``output="dmol"``, Salimans et al. 2017). Colour channels are generated R -> G -> B at each pixel through
the channel groups of the masks. Its receptive field has the well-known
blind spot to the upper right, which the inspector shows.

Cached sampling (``make_stepper``) keeps each layer's input and computes one
new pixel per layer per step (see ``_pixel_common.RasterStepper``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from arstudio.models._pixel_common import PixelHead, RasterStepper, input_pixels, masked_weights
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model
from arstudio.nn import MaskedConv2d
from arstudio.nn.causal_conv2d import pointwise, square_masked_at


class ResidualBlock(nn.Module):
    """ReLU-1×1(2h->h)-ReLU-k×k mask B(h->h)-ReLU-1×1(h->2h), plus the input."""

    def __init__(self, channels: int, kernel: int, data_channels: int):
        super().__init__()
        h = channels // 2
        self.net = nn.Sequential(
            nn.ReLU(), MaskedConv2d(channels, h, 1, "B", data_channels),
            nn.ReLU(), MaskedConv2d(h, h, kernel, "B", data_channels),
            nn.ReLU(), MaskedConv2d(h, channels, 1, "B", data_channels),
        )

    def forward(self, x):
        return x + self.net(x)


@register_model(
    "pixelcnn",
    family="PixelCNN family",
    modalities=("image",),
    paper="van den Oord, Kalchbrenner, Kavukcuoglu, Pixel Recurrent Neural Networks, ICML 2016",
    summary=("A stack of masked convolutions: the first (mask A) hides the current pixel, "
             "later ones (mask B) keep the raster order. All conditionals are computed in "
             "one parallel pass during training; sampling needs one pass per pixel. The "
             "stacked masks leave a blind spot above-right of each pixel."),
    factorisation="p(x) = prod over pixels (raster) and channels (R,G,B) of p(x_i | x_<i)",
    presets={"tiny": {"channels": 16, "blocks": 1, "first_kernel": 3, "head_channels": 16},
             "quick demo": {"channels": 32, "blocks": 4}, "quality": {"channels": 128, "blocks": 12}},
)
class PixelCNN(ARModel):
    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # feature maps in the residual stream (2h in the paper)
        blocks: int = 7  # residual blocks of mask-B convolutions
        first_kernel: int = 7  # the mask-A input convolution
        kernel: int = 3  # mask-B convolution inside each block
        head_channels: int = 64  # width of the two 1×1 output layers
        output: str = "softmax"  # "softmax" (K-way) or "dmol" (discretized logistic mixture)
        mixtures: int = 5  # logistic components per sub-pixel when output="dmol"

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C = spec.shape[0]
        ch = max(config.channels, 2 * C) // C * C  # divisible into colour groups
        self.input = MaskedConv2d(C, ch, config.first_kernel, "A", C)
        self.blocks = nn.Sequential(*[ResidualBlock(ch, config.kernel, C) for _ in range(config.blocks)])
        self.head = PixelHead(ch, config.head_channels, spec, config.output, config.mixtures)

    @property
    def order(self):
        C, H, W = self.spec.shape
        # raster over pixels, R -> G -> B within a pixel
        return torch.arange(C * H * W).view(C, H * W).t().reshape(-1)

    def conditionals(self, x, **cond):
        h = self.blocks(self.input(self.scale_input(x)))  # (B, ch, H, W)
        return self.head(h)  # (B, C, H, W) conditionals

    # --- cached generation: one new pixel per layer per step ---------------------
    def make_stepper(self, x, **cond):
        return RasterStepper(self, x)

    def _new_cache(self, x):
        n, (C, H, W) = x.shape[0], self.spec.shape

        def padded(conv):  # input of a k×k mask conv, padded k//2 on top, left and right
            p = conv.kernel_size[0] // 2
            return x.new_zeros((n, conv.in_channels, H + p, W + 2 * p), dtype=torch.float32)

        return {"w": masked_weights(self), "input": padded(self.input),
                "inner": [padded(b.net[3]) for b in self.blocks]}

    def _compute_pixel(self, st, x, r, c):
        w, p0 = st["w"], self.input.kernel_size[0] // 2
        for rr, cc in input_pixels(r, c, x.shape[-1]):
            st["input"][:, :, rr + p0, cc + p0] = self.scale_input(x[:, :, rr, cc])
        h = square_masked_at(self.input, st["input"], r, c, w[self.input])  # (n, ch)
        for block, cache in zip(self.blocks, st["inner"]):
            _, one_in, _, mid, _, one_out = block.net
            u = torch.relu(pointwise(one_in, torch.relu(h), w[one_in]))  # (n, ch/2)
            p = mid.kernel_size[0] // 2
            cache[:, :, r + p, c + p] = u
            v = torch.relu(square_masked_at(mid, cache, r, c, w[mid]))
            h = h + pointwise(one_out, v, w[one_out])
        return h  # (n, ch)
