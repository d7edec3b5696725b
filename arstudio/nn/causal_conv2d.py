"""Causal 2-D convolutions with an explicit anchor, and per-pixel evaluation.

A ``CausalConv2d`` has a ``kh × kw`` kernel whose output pixel sits on the
kernel's bottom row at column ``anchor`` (nothing below the current row is
ever used, so those rows are not stored at all). What the anchor row may see
is set by ``mode``::

    kh=2, kw=5, anchor=2
    mode "A"/"B"         mode "rows"          mode "above"
    1 1 1 1 1            1 1 1 1 1            1 1 1 1 1
    1 1 c 0 0            1 1 1 1 1            0 0 0 0 0

``c`` follows the colour groups as in :mod:`arstudio.nn.masked_conv`: an
output of group g sees inputs of groups < g ("A") or <= g ("B"). "rows" is
the vertical stack of Gated PixelCNN (its output only ever feeds pixels of
later rows); "above" is its first layer (strictly earlier rows).

Besides the full ``forward``, the layer evaluates a single output pixel
(:meth:`at`) or a single output row (:meth:`row`) from a zero-padded cache of
its input (:meth:`padded_shape`). That is what cached generation needs: one
new output per layer per generated pixel instead of a whole image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.nn.masked_conv import channel_groups


class CausalConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int],
                 anchor: int, mode: str = "B", data_channels: int = 1,
                 in_groups: torch.Tensor | None = None, out_groups: torch.Tensor | None = None,
                 bias: bool = True, stride: int = 1):
        super().__init__()
        kh, kw = kernel
        if mode not in ("A", "B", "rows", "above"):
            raise ValueError(f"mode must be A, B, rows or above, got {mode!r}")
        if not 0 <= anchor < kw:
            raise ValueError(f"anchor {anchor} outside a kernel {kw} wide")
        self.kh, self.kw, self.anchor, self.mode = kh, kw, anchor, mode
        self.stride = stride  # 2: output (r, c) sits at input pixel (2r, 2c), PixelCNN++ style
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        mask = torch.zeros(out_channels, in_channels, kh, kw)
        mask[:, :, : kh - 1, :] = 1  # rows above the current one
        if mode == "rows":
            mask[:, :, kh - 1, :] = 1
        elif mode in ("A", "B"):
            mask[:, :, kh - 1, :anchor] = 1  # left of the anchor on the current row
            og = (channel_groups(out_channels, data_channels) if out_groups is None else out_groups)
            ig = (channel_groups(in_channels, data_channels) if in_groups is None else in_groups)
            og, ig = og[:, None], ig[None, :]
            mask[:, :, kh - 1, anchor] = (og > ig if mode == "A" else og >= ig).float()
        self.register_buffer("mask", mask, persistent=False)

    # padding: (left, right, top, bottom) so that output (r, c) reads padded rows
    # r .. r+kh-1 and columns c .. c+kw-1
    @property
    def padding(self) -> tuple[int, int, int, int]:
        return (self.anchor, self.kw - 1 - self.anchor, self.kh - 1, 0)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x):  # (B, Cin, H, W) -> (B, Cout, H, W)
        return F.conv2d(F.pad(x, self.padding), self.masked_weight(), self.bias, self.stride)

    # --- incremental evaluation from a padded cache of the input ----------------
    def padded_shape(self, n: int, channels: int, height: int, width: int):
        left, right, top, _ = self.padding
        return (n, channels, height + top, width + left + right)

    def at(self, cache: torch.Tensor, r: int, c: int, weight=None) -> torch.Tensor:
        """Output pixel (r, c) from the padded input cache: (n, Cout)."""
        w = self.masked_weight() if weight is None else weight
        window = cache[:, :, r: r + self.kh, c: c + self.kw]  # (n, Cin, kh, kw)
        return F.linear(window.reshape(window.shape[0], -1), w.reshape(w.shape[0], -1), self.bias)

    def row(self, cache: torch.Tensor, r: int, weight=None) -> torch.Tensor:
        """Output row r from the padded input cache: (n, Cout, W)."""
        w = self.masked_weight() if weight is None else weight
        return F.conv2d(cache[:, :, r: r + self.kh], w, self.bias).squeeze(2)


def new_cache(conv: CausalConv2d, n, channels, height, width, like: torch.Tensor) -> torch.Tensor:
    """A zero-padded input cache for ``conv`` (zeros are what padding would give)."""
    return like.new_zeros(conv.padded_shape(n, channels, height, width))


def write_at(cache: torch.Tensor, conv: CausalConv2d, r: int, c: int, value: torch.Tensor):
    """Store ``value`` (n, C) as input pixel (r, c) of ``conv``'s padded cache."""
    left, _, top, _ = conv.padding
    cache[:, :, r + top, c + left] = value


def write_row(cache: torch.Tensor, conv: CausalConv2d, r: int, value: torch.Tensor):
    """Store ``value`` (n, C, W) as input row r of ``conv``'s padded cache."""
    left, _, top, _ = conv.padding
    cache[:, :, r + top, left: left + value.shape[-1]] = value


def pointwise(conv: nn.Module, v: torch.Tensor, weight=None) -> torch.Tensor:
    """A 1×1 (masked) convolution applied to one pixel's features: (n, Cin) -> (n, Cout)."""
    w = (conv.weight * conv.mask) if weight is None else weight
    return F.linear(v, w.reshape(w.shape[0], -1), conv.bias)


def square_masked_at(conv: nn.Module, cache: torch.Tensor, r: int, c: int, weight=None):
    """Output pixel (r, c) of a square :class:`MaskedConv2d` (k×k, padding k//2).

    ``cache`` is its input padded by k//2 on the top, left and right; the
    kernel rows below the centre are all masked, so only rows r-k//2 .. r are read.
    """
    k = conv.kernel_size[0]
    w = (conv.weight * conv.mask) if weight is None else weight
    w = w[:, :, : k // 2 + 1]  # (Cout, Cin, k//2+1, k)
    window = cache[:, :, r: r + k // 2 + 1, c: c + k]
    return F.linear(window.reshape(window.shape[0], -1), w.reshape(w.shape[0], -1), conv.bias)
