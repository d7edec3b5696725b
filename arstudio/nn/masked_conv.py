"""Masked 2-D convolution for PixelCNN-style models (van den Oord et al., 2016).

Spatial mask for a 5×5 kernel (1 = the output may see that input)::

    type A (first layer)     type B (later layers)
    1 1 1 1 1                1 1 1 1 1
    1 1 1 1 1                1 1 1 1 1
    1 1 0 0 0                1 1 c 0 0      c: centre, see below
    0 0 0 0 0                0 0 0 0 0
    0 0 0 0 0                0 0 0 0 0

Colour (R -> G -> B): channels are split into ``data_channels`` contiguous
groups. At the centre pixel an output of group g sees inputs of groups < g
(type A) or <= g (type B), so G depends on R of the same pixel but R never on
G or B. With one data channel this reduces to the picture above.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def channel_groups(num_channels: int, data_channels: int) -> torch.Tensor:
    """Group (0..data_channels-1) of each of ``num_channels`` channels, contiguous."""
    return torch.arange(num_channels) * data_channels // num_channels


class MaskedConv2d(nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, mask_type: str = "B",
                 data_channels: int = 1, **kwargs):
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        kernel_size = int(kernel_size)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"a masked convolution needs an odd kernel size >= 1, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size,
                         padding=kernel_size // 2, **kwargs)
        self.mask_type = mask_type
        k, c = kernel_size, kernel_size // 2
        mask = torch.zeros(out_channels, in_channels, k, k)
        mask[:, :, :c, :] = 1  # rows above
        mask[:, :, c, :c] = 1  # left of centre on the centre row
        out_g = channel_groups(out_channels, data_channels)[:, None]
        in_g = channel_groups(in_channels, data_channels)[None, :]
        centre = out_g > in_g if mask_type == "A" else out_g >= in_g
        mask[:, :, c, c] = centre.float()
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride,
                        self.padding, self.dilation, self.groups)
