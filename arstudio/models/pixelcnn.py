"""PixelCNN: masked convolutions over the raster order.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (section 3.5). A mask-A 7×7 convolution that cannot see the current
pixel, residual blocks of mask-B convolutions, and a K-way softmax per
sub-pixel. Colour channels are generated R -> G -> B at each pixel through
the channel groups of the masks. Its receptive field has the well-known
blind spot to the upper right, which the inspector shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model
from arstudio.nn import MaskedConv2d


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
    presets={"quick demo": {"channels": 32, "blocks": 4}, "quality": {"channels": 128, "blocks": 12}},
)
class PixelCNN(ARModel):
    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # feature maps in the residual stream (2h in the paper)
        blocks: int = 7  # residual blocks of mask-B convolutions
        first_kernel: int = 7  # the mask-A input convolution
        kernel: int = 3  # mask-B convolution inside each block
        head_channels: int = 64  # width of the two 1×1 output layers

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, K = spec.shape[0], spec.levels
        ch = max(config.channels, 2 * C) // C * C  # divisible into colour groups
        head = max(config.head_channels, C) // C * C
        self.input = MaskedConv2d(C, ch, config.first_kernel, "A", C)
        self.blocks = nn.Sequential(*[ResidualBlock(ch, config.kernel, C) for _ in range(config.blocks)])
        self.head = nn.Sequential(
            nn.ReLU(), MaskedConv2d(ch, head, 1, "B", C),
            nn.ReLU(), MaskedConv2d(head, C * K, 1, "B", C),
        )

    @property
    def order(self):
        C, H, W = self.spec.shape
        # raster over pixels, R -> G -> B within a pixel
        return torch.arange(C * H * W).view(C, H * W).t().reshape(-1)

    def conditionals(self, x, **cond):
        B = x.shape[0]
        C, H, W = self.spec.shape
        h = self.blocks(self.input(self.scale_input(x)))  # (B, ch, H, W)
        logits = self.head(h).view(B, C, self.spec.levels, H, W)  # (B, C, K, H, W)
        return Categorical(logits.permute(0, 1, 3, 4, 2))  # (B, C, H, W, K)
