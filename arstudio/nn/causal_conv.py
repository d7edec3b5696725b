"""Causal 1-D convolutions for sequence models (WaveNet, the Conv1D ARM).

A causal convolution only looks back in time. With kernel 3 and dilation 1
(1 = the output at time t may see that input)::

    input time:      t-3  t-2  t-1   t
    type A (first)    1    1    1    0     excludes the current input
    type B (later)         1    1    1     includes it (it already only
                                           carries information from x_<t)

Dilation d spaces the taps d steps apart; kernel 2, dilation 4::

    input time:      t-4  t-3  t-2  t-1   t
    type B            1    0    0    0    1

Type A is type B applied to the input shifted one step to the right (a zero
enters at t = 0), so the first layer of a stack makes the whole stack see
x_<t only. Zero padding on the left keeps the output length equal to the
input length.

Streaming (Fast WaveNet, Paine et al. 2016): :meth:`CausalConv1d.step`
computes one output from a :class:`ConvQueue` of the layer's last inputs,
O(kernel) work per step instead of rerunning the layer over the past.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvQueue:
    """Ring buffer of a layer's last ``length`` inputs: (n, C, length), zeros at first.

    Zeros are what the left padding feeds the full convolution, so a fresh
    queue reproduces the start of the sequence exactly."""

    def __init__(self, n: int, channels: int, length: int, device, dtype=torch.float32):
        self.buf = torch.zeros(n, channels, length, device=device, dtype=dtype)
        self.length = length
        self.pos = -1  # slot of the newest input

    def push(self, value: torch.Tensor) -> None:  # value (n, C)
        self.pos = (self.pos + 1) % self.length
        self.buf[:, :, self.pos] = value

    def taps(self, offsets: list[int]) -> torch.Tensor:
        """Inputs ``offsets`` steps before the newest one: (n, C, len(offsets))."""
        idx = [(self.pos - o) % self.length for o in offsets]
        return self.buf[:, :, idx]


class CausalConv1d(nn.Conv1d):
    """(B, C_in, T) -> (B, C_out, T); output t sees inputs <= t (B) or < t (A)."""

    def __init__(self, in_channels, out_channels, kernel_size, mask_type: str = "B",
                 dilation: int = 1, bias: bool = True):
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        super().__init__(in_channels, out_channels, int(kernel_size), dilation=int(dilation),
                         bias=bias)
        self.mask_type = mask_type

    @property
    def history(self) -> int:
        """How many past inputs one output can depend on (its receptive field)."""
        span = (self.kernel_size[0] - 1) * self.dilation[0]
        return span + 1 if self.mask_type == "A" else span

    def forward(self, x):  # (B, C_in, T)
        if self.mask_type == "A":
            x = F.pad(x, (1, 0))[..., :-1]  # shift right: position t now holds x_{t-1}
        pad = (self.kernel_size[0] - 1) * self.dilation[0]
        return F.conv1d(F.pad(x, (pad, 0)), self.weight, self.bias, dilation=self.dilation)

    # --- streaming ---------------------------------------------------------------
    def make_queue(self, n: int, device, dtype=torch.float32) -> ConvQueue:
        return ConvQueue(n, self.in_channels, (self.kernel_size[0] - 1) * self.dilation[0] + 1,
                         device, dtype)

    def step(self, queue: ConvQueue, newest: torch.Tensor) -> torch.Tensor:
        """Push ``newest`` (n, C_in) and return one output (n, C_out).

        For type B ``newest`` is the input at the output's own time t; for
        type A the caller passes the input at t-1 (zeros at t = 0), which is
        exactly what the shifted full convolution sees."""
        queue.push(newest)
        k, d = self.kernel_size[0], self.dilation[0]
        # weight tap j multiplies the input (k-1-j)*d steps before the newest
        window = queue.taps([(k - 1 - j) * d for j in range(k)])  # (n, C_in, k)
        out = torch.einsum("nck,ock->no", window, self.weight)
        return out if self.bias is None else out + self.bias
