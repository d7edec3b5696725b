"""The masks of a model's masked convolutions, read from the layers' real weights.

Drawn as the papers draw them (van den Oord et al. 2016, figures of masks A and
B and of the vertical/horizontal stacks): a kernel window centred on the
output pixel, each tap *seen* (the layer has a non-zero weight there),
*partly seen* (the output pixel of a colour model: some channel groups only),
*masked* (stored but zero in ``weight * mask``) or *not stored* (the rows below
the output pixel and the columns right of it that :class:`CausalConv2d
<arstudio.nn.causal_conv2d.CausalConv2d>` never allocates: masked by
construction). At the output pixel itself, colour models mask by channel group
(R -> G -> B): :attr:`KernelMask.channels` is the (out group × in group) table of
which input groups feed which output groups there.

Everything is read from ``layer.masked_weight()`` (what ``forward`` convolves
with): a tap is seen when any weight of it is non-zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arstudio.nn.causal_conv2d import CausalConv2d, channel_groups

SEEN, MASKED, ABSENT, PARTIAL = 1, 0, -1, 2  # codes of KernelMask.window (PARTIAL: by channel group)


@dataclass
class KernelMask:
    name: str  # the module's path in the model ("input", "layers.0.h")
    mode: str  # "A", "B", "rows" or "above"
    kernel: tuple[int, int]  # stored (kh, kw)
    window: np.ndarray  # (2·(kh-1)+1, 2·max(anchor, kw-1-anchor)+1): SEEN / MASKED / ABSENT
    centre: tuple[int, int]  # the output pixel's place in ``window``
    channels: np.ndarray  # (out groups, in groups) bool at the output pixel: in group feeds out group
    seen: np.ndarray  # (kh, kw) bool: any non-zero weight at that tap (the stored kernel)

    @property
    def title(self) -> str:
        kh, kw = self.kernel
        return f"{self.name} · mode {self.mode} · {kh}×{kw} stored"


def kernel_mask(name: str, layer: CausalConv2d, data_channels: int) -> KernelMask:
    w = layer.masked_weight().detach()  # (Cout, Cin, kh, kw)
    nz = w != 0
    kh, kw, a = layer.kh, layer.kw, layer.anchor
    seen = nz.any(0).any(0).cpu().numpy()
    half_w = max(a, kw - 1 - a)
    window = np.full((2 * (kh - 1) + 1, 2 * half_w + 1), ABSENT, np.int8)
    top, left = 0, half_w - a  # the stored kernel's top-left corner in the window
    window[top: top + kh, left: left + kw] = np.where(seen, SEEN, MASKED)
    G = data_channels
    og = channel_groups(layer.out_channels, G) if layer.out_channels >= G else torch.zeros(layer.out_channels, dtype=torch.long)
    ig = channel_groups(layer.in_channels, G) if layer.in_channels >= G else torch.zeros(layer.in_channels, dtype=torch.long)
    centre_nz = nz[:, :, kh - 1, a].cpu()  # (Cout, Cin) at the output pixel
    table = np.zeros((G, G), bool)
    for g in range(G):
        for j in range(G):
            block = centre_nz[og == g][:, ig == j]
            table[g, j] = bool(block.any()) if block.numel() else False
    if window[kh - 1, half_w] == SEEN and not table.all():
        window[kh - 1, half_w] = PARTIAL
    return KernelMask(name, layer.mode, (kh, kw), window, (kh - 1, half_w), table, seen)


def kernel_masks(model, spatial_only: bool = False) -> list[KernelMask]:
    """Every masked convolution of ``model`` in module order (``spatial_only``: leave out 1×1)."""
    G = model.spec.shape[0] if len(model.spec.shape) == 3 else 1
    out = []
    for name, m in model.named_modules():
        if isinstance(m, CausalConv2d) and not (spatial_only and m.kh == m.kw == 1):
            out.append(kernel_mask(name, m, G))
    return out
