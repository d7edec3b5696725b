"""The masked (causal) 2-D convolution of every image model, and per-pixel evaluation.

van den Oord, Kalchbrenner, Kavukcuoglu, "Pixel Recurrent Neural Networks",
ICML 2016 (masks A and B); the vertical/horizontal stacks of van den Oord et
al., "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016.

A ``CausalConv2d`` has a ``kh × kw`` kernel whose output pixel sits on the
kernel's bottom row at column ``anchor``: rows below the current one are never
read, so they are not stored at all. The mask is a buffer applied in
``forward`` (the stored weight is never changed). What the anchor row may see
is set by ``mode`` (1 = the output may see that input)::

    kh=2, kw=5, anchor=2
    mode "A"/"B"         mode "rows"          mode "above"
    1 1 1 1 1            1 1 1 1 1            1 1 1 1 1
    1 1 c 0 0            1 1 1 1 1            0 0 0 0 0

The PixelCNN's square k×k masked convolution is the special case
``kernel=(k//2 + 1, k), anchor=k//2`` (its rows below the centre are all
masked, so they are simply absent)::

    k=5, type A          k=5, type B
    1 1 1 1 1            1 1 1 1 1
    1 1 1 1 1            1 1 1 1 1
    1 1 0 0 0            1 1 c 0 0
    (0 0 0 0 0)          (0 0 0 0 0)     not stored
    (0 0 0 0 0)          (0 0 0 0 0)

Colour (R -> G -> B): channels are split into ``data_channels`` contiguous
groups (:func:`channel_groups`). At the anchor an output of group g sees
inputs of groups < g (mode "A") or <= g (mode "B"), so G depends on R of the
same pixel but R never on G or B. "rows" is the vertical stack of Gated
PixelCNN (its output only ever feeds pixels of later rows); "above" is its
first layer (strictly earlier rows).

Besides the full ``forward``, the layer evaluates a single output pixel
(:meth:`CausalConv2d.at`), a single output row (:meth:`CausalConv2d.row`) or,
for 1×1 layers, one pixel's features (:meth:`CausalConv2d.pointwise`) from a
zero-padded cache of its input (:meth:`CausalConv2d.new_cache`,
:meth:`CausalConv2d.write`, :meth:`CausalConv2d.write_row`). That is what
cached generation needs: one new output per layer per generated pixel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("A", "B", "rows", "above")


def channel_groups(num_channels: int, data_channels: int) -> torch.Tensor:
    """Group (0..data_channels-1) of each of ``num_channels`` channels, contiguous."""
    return torch.arange(num_channels) * data_channels // num_channels


class CausalConv2d(nn.Module):
    """(B, Cin, H, W) -> (B, Cout, H, W); output (r, c) sees only what ``mode`` allows."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int],
                 anchor: int, mode: str = "B", data_channels: int = 1,
                 in_groups: torch.Tensor | None = None, out_groups: torch.Tensor | None = None,
                 bias: bool = True, stride: int = 1):
        super().__init__()
        kh, kw = kernel
        if mode not in MODES:
            raise ValueError(f"mode must be A, B, rows or above, got {mode!r}")
        if not 0 <= anchor < kw:
            raise ValueError(f"anchor {anchor} outside a kernel {kw} wide")
        self.kh, self.kw, self.anchor, self.mode = kh, kw, anchor, mode
        self.in_channels, self.out_channels = in_channels, out_channels
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
        self._unmasked = None  # read from the mask at first use (not here: on the meta device,
        # where checkpoints are judged before a real build, a mask has no values to read)

    @property
    def unmasked(self) -> bool:
        """Nothing masked (mode "rows", most 1×1 B): the weight is used without a product."""
        if self._unmasked is None:
            self._unmasked = bool(self.mask.all())
        return self._unmasked

    @classmethod
    def square(cls, in_channels: int, out_channels: int, k: int, mode: str = "B",
               data_channels: int = 1, **kwargs) -> CausalConv2d:
        """The PixelCNN k×k masked convolution (odd k): the rows up to the centre."""
        k = int(k)
        if k < 1 or k % 2 == 0:
            raise ValueError(f"a masked convolution needs an odd kernel size >= 1, got {k}")
        return cls(in_channels, out_channels, (k // 2 + 1, k), k // 2, mode, data_channels, **kwargs)

    # padding: (left, right, top, bottom) so that output (r, c) reads padded rows
    # r .. r+kh-1 and columns c .. c+kw-1
    @property
    def padding(self) -> tuple[int, int, int, int]:
        return (self.anchor, self.kw - 1 - self.anchor, self.kh - 1, 0)

    def masked_weight(self) -> torch.Tensor:
        return self.weight if self.unmasked else self.weight * self.mask

    def forward(self, x):  # (B, Cin, H, W) -> (B, Cout, H, W)
        left, right, top, _ = self.padding
        if left == right and self.stride == 1:
            # only the top rows padded here (one contiguous copy, none for 1×1): the
            # convolution pads the sides itself; F.pad of all four sides (or of none)
            # copies the whole map (3-5× a plain copy at Gated PixelCNN's size)
            return F.conv2d(F.pad(x, (0, 0, top, 0)) if top else x, self.masked_weight(),
                            self.bias, 1, (0, left))
        return F.conv2d(F.pad(x, self.padding), self.masked_weight(), self.bias, self.stride)

    # --- incremental evaluation from a padded cache of the input ----------------
    def new_cache(self, n: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """A zero-padded input cache (zeros are what padding would give): (n, Cin, H+top, W+l+r)."""
        left, right, top, _ = self.padding
        return like.new_zeros((n, self.in_channels, height + top, width + left + right),
                              dtype=torch.float32)

    def write(self, cache: torch.Tensor, r: int, c: int, value: torch.Tensor) -> None:
        """Store ``value`` (n, Cin) as input pixel (r, c) of the padded cache."""
        left, _, top, _ = self.padding
        cache[:, :, r + top, c + left] = value

    def write_row(self, cache: torch.Tensor, r: int, value: torch.Tensor) -> None:
        """Store ``value`` (n, Cin, W) as input row r of the padded cache."""
        left, _, top, _ = self.padding
        cache[:, :, r + top, left: left + value.shape[-1]] = value

    def at(self, cache: torch.Tensor, r: int, c: int, weight=None) -> torch.Tensor:
        """Output pixel (r, c) from the padded input cache: (n, Cout)."""
        w = self.masked_weight() if weight is None else weight
        window = cache[:, :, r: r + self.kh, c: c + self.kw]  # (n, Cin, kh, kw)
        return F.linear(window.reshape(window.shape[0], -1), w.reshape(w.shape[0], -1), self.bias)

    def row(self, cache: torch.Tensor, r: int, weight=None) -> torch.Tensor:
        """Output row r from the padded input cache: (n, Cout, W)."""
        w = self.masked_weight() if weight is None else weight
        return F.conv2d(cache[:, :, r: r + self.kh], w, self.bias).squeeze(2)

    def pointwise(self, v: torch.Tensor, weight=None) -> torch.Tensor:
        """A 1×1 layer applied to one pixel's features: (n, Cin) -> (n, Cout)."""
        w = self.masked_weight() if weight is None else weight
        return F.linear(v, w.reshape(w.shape[0], -1), self.bias)


def masked_weights(model: nn.Module) -> dict:
    """weight * mask of every masked convolution, computed once for a whole sampling run."""
    return {m: m.masked_weight().detach() for m in model.modules() if isinstance(m, CausalConv2d)}


def square_to_causal(weight: torch.Tensor) -> torch.Tensor:
    """A stored k×k masked-convolution weight (checkpoints before the one 2-D masked
    convolution) -> the (k//2 + 1, k) weight of :meth:`CausalConv2d.square`: the rows
    below the centre were always masked to zero, so dropping them changes nothing."""
    k = weight.shape[-1]
    return weight[:, :, : k // 2 + 1].contiguous()
