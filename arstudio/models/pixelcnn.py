"""PixelCNN: masked convolutions over the raster order.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (section 3.5). A mask-A 7×7 convolution that cannot see the current
pixel, residual blocks of mask-B convolutions, and a K-way softmax per
sub-pixel (``output="softmax"``) or a discretized logistic mixture
(``output="dmol"``, Salimans et al. 2017). Colour channels are generated R -> G -> B at each pixel through
the channel groups of the masks. Its receptive field has the well-known
blind spot to the upper right, which the inspector shows.

Cached sampling (:class:`PixelCNNStepper`, a
:class:`~arstudio.models.steppers.RasterStepper`) keeps each layer's input and
computes one new pixel per layer per step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from arstudio.models._pixel_common import (
    PIXEL_HEAD_RENAMES,
    PIXEL_RNN_PAPER,
    RASTER_FACTORISATION,
    InputStepper,
    PixelHead,
    RasterModel,
)
from arstudio.models.registry import PIXELCNN_FAMILY, register_model
from arstudio.nn import CausalConv2d
from arstudio.nn.causal_conv2d import square_to_causal


class ResidualBlock(nn.Module):
    """ReLU-1×1(2h->h)-ReLU-k×k mask B(h->h)-ReLU-1×1(h->2h), plus the input."""

    def __init__(self, channels: int, kernel: int, data_channels: int):
        super().__init__()
        h, C = channels // 2, data_channels
        self.reduce = CausalConv2d(channels, h, (1, 1), 0, "B", C)
        self.conv = CausalConv2d.square(h, h, kernel, "B", C)
        self.expand = CausalConv2d(h, channels, (1, 1), 0, "B", C)

    def forward(self, x):  # (B, 2h, H, W)
        return x + self.expand(torch.relu(self.conv(torch.relu(self.reduce(torch.relu(x))))))


@register_model(
    "pixelcnn",
    family=PIXELCNN_FAMILY,
    paper=PIXEL_RNN_PAPER,
    summary=("A stack of masked convolutions: the first (mask A) hides the current pixel, "
             "later ones (mask B) keep the raster order. All conditionals are computed in "
             "one parallel pass during training; sampling needs one pass per pixel. The "
             "stacked masks leave a blind spot above-right of each pixel."),
    factorisation=RASTER_FACTORISATION,
    presets={"tiny": {"channels": 16, "layers": 1, "first_kernel": 3, "head_channels": 16},
             "quick demo": {"channels": 32, "layers": 4}, "quality": {"channels": 128, "layers": 12}},
)
class PixelCNN(RasterModel):
    # checkpoints of the nn.Sequential blocks and head
    config_renames = {"blocks": "layers"}  # checkpoints before the shared names
    state_renames = ((r"^blocks\.(\d+)\.net\.1\.", r"blocks.\1.reduce."),
                     (r"^blocks\.(\d+)\.net\.3\.", r"blocks.\1.conv."),
                     (r"^blocks\.(\d+)\.net\.5\.", r"blocks.\1.expand."), *PIXEL_HEAD_RENAMES)

    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # feature maps in the residual stream (2h in the paper)
        layers: int = 7  # residual blocks of mask-B convolutions (the modules are self.blocks)
        first_kernel: int = 7  # the mask-A input convolution
        kernel: int = 3  # mask-B convolution inside each block
        head_channels: int = 64  # width of the two 1×1 output layers
        output: str = "softmax"  # "softmax" (K-way) or "dmol" (discretized logistic mixture)
        mixtures: int = 5  # logistic components per sub-pixel when output="dmol"

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C = spec.shape[0]
        ch = max(config.channels, 2 * C) // C * C  # divisible into colour groups
        self.input = CausalConv2d.square(C, ch, config.first_kernel, "A", C)
        self.blocks = nn.Sequential(*[ResidualBlock(ch, config.kernel, C) for _ in range(config.layers)])
        self.head = PixelHead(ch, config.head_channels, spec, config.output, config.mixtures)

    def conditionals(self, x, **cond):
        h = self.blocks(self.input(self.scale_input(x)))  # (B, ch, H, W)
        return self.head(h)  # (B, C, H, W) conditionals

    def feature_layers(self):
        return [("mask A input", self.input, None)] + [
            (f"block {i + 1}", b, None) for i, b in enumerate(self.blocks)]

    @classmethod
    def upgrade_checkpoint(cls, config, state):
        """Checkpoints of the square k×k MaskedConv2d and the nn.Sequential blocks/head."""
        config, state = super().upgrade_checkpoint(config, state)  # state_renames
        for key, w in state.items():
            if key == "input.weight" or (key.endswith(".conv.weight") and key.startswith("blocks.")):
                if w.shape[-2] == w.shape[-1] and w.shape[-1] > 1:
                    state[key] = square_to_causal(w)
        return config, state

    def make_stepper(self, x, **cond):
        return PixelCNNStepper(self, x)


class PixelCNNStepper(InputStepper):
    """One new pixel per layer per step: each k×k layer keeps a padded cache of its input."""

    def __init__(self, model: PixelCNN, x):
        super().__init__(model, x)
        self.block_caches = [b.conv.new_cache(self.n, self.H, self.W, self.like) for b in model.blocks]

    def compute_pixel(self, x, r, c):
        m, w = self.model, self.weights
        h = self.first_layer(x, r, c)  # (n, ch)
        for block, cache in zip(m.blocks, self.block_caches):
            u = torch.relu(block.reduce.pointwise(torch.relu(h), w[block.reduce]))  # (n, ch/2)
            block.conv.write(cache, r, c, u)
            v = torch.relu(block.conv.at(cache, r, c, w[block.conv]))
            h = h + block.expand.pointwise(v, w[block.expand])
        return h  # (n, ch)
