"""PixelSNAIL: gated residual convolutions interleaved with causal self-attention.

Chen, Mishra, Rohaninejad, Abbeel, "PixelSNAIL: An Improved Autoregressive
Generative Model", ICML 2018.

Each block runs a few gated residual causal convolutions (local context)
and then one causal attention layer whose query at pixel p looks at keys and
values computed at every earlier pixel (unbounded context). The attention is
strictly causal, so its output at p never depends on pixel p itself; a
learned "null" key/value gives the first pixel something to attend to.
Keys and values read the features and the data of the earlier pixel (as in
the paper), so even the last pixel of the row above is in context.
Queries read only the colour group 0 features (those never see pixel p),
so colour stays autoregressive R -> G -> B.

Orderings: "raster", or "zigzag" (boustrophedon: odd rows right to left),
implemented by mirroring odd rows before the network and back after it.
Output: K-way softmax or a discretized logistic mixture per sub-pixel.
Cached sampling: per-pixel convolution caches plus a key/value cache.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._pixel_common import (
    PIXEL_HEAD_RENAMES,
    InputStepper,
    PixelHead,
    grouped_width,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import ATTENTION_MODELS, register_model
from arstudio.nn import CausalConv2d, channel_groups, gated_tanh
from arstudio.nn.attention import KVCache, RecordsAttention, split_heads

ORDERINGS = ("raster", "zigzag")


class GatedResidual(nn.Module):
    """h + gate(conv2(elu(conv1(elu(h))))), both convs causal mask B."""

    def __init__(self, ch, kernel, C):
        super().__init__()
        k = kernel
        self.conv1 = CausalConv2d(ch, ch, (k // 2 + 1, k), k // 2, "B", C)
        self.conv2 = CausalConv2d(ch, 2 * ch, (k // 2 + 1, k), k // 2, "B", C,
                                  out_groups=channel_groups(ch, C).repeat(2))

    def forward(self, h):
        return h + gated_tanh(self.conv2(F.elu(self.conv1(F.elu(h)))))


def _causal_attention(q, k, v):
    """softmax(q kᵀ / √d_k) v with query i seeing keys 0 .. i (k, v hold one more entry than q:
    the null first). That mask is ``is_causal``'s own (top-left aligned), which runs the fused
    kernel (on a CPU 7× quicker than the same mask given as a tensor); the kernel wants one width
    for q, k and v, so the narrower ones are zero-padded: q·k is unchanged, the scale stays
    1/√d_k, and the padded value columns are dropped."""
    dk, dv = q.shape[-1], v.shape[-1]
    width = max(dk, dv)
    if dk < width:
        q, k = F.pad(q, (0, width - dk)), F.pad(k, (0, width - dk))
    out = F.scaled_dot_product_attention(q, k, F.pad(v, (0, width - dv)) if dv < width else v,
                                         is_causal=True, scale=dk ** -0.5)
    return out[..., :dv] if dv < width else out


class CausalAttention(RecordsAttention):
    """Multi-head attention of pixel p over pixels < p (plus a learned null entry).

    Key 0 is the null entry, key j + 1 pixel j (recorded weights: (B, heads, HW, 1 + HW))."""

    def __init__(self, ch, query_ch, key_ch, value_ch, heads, data_ch):
        super().__init__()
        self.heads, self.query_ch = heads, query_ch
        self.q = nn.Linear(query_ch + 2, key_ch)  # + 2 coordinate channels
        self.k = nn.Linear(ch + data_ch + 2, key_ch)  # features, the pixel's data, coordinates
        self.v = nn.Linear(ch + data_ch + 2, value_ch)
        self.null_k = nn.Parameter(torch.zeros(key_ch))
        self.null_v = nn.Parameter(torch.zeros(value_ch))
        self.out = nn.Linear(value_ch, ch)

    def split(self, t):  # (B, L, d) -> (B, heads, L, d/heads)
        return split_heads(t, self.heads)

    def new_cache(self, n: int, pixels: int, like) -> KVCache:
        """Entry 0 the learned null key/value, entry p+1 pixel p: (n, heads, 1 + HW, d)."""
        nk, nv = self.null(n)
        cache = KVCache(n, self.heads, 1 + pixels, nk.shape[-1], like, value_dim=nv.shape[-1])
        cache.put(0, nk, nv)
        return cache

    def query(self, feats, coords):
        """feats (B, L, ch), coords (L, 2) -> (B, heads, L, d): colour group 0 features only."""
        pos = coords.expand(feats.shape[0], -1, -1).to(feats.dtype)
        return self.split(self.q(torch.cat([feats[..., : self.query_ch], pos], -1)))

    def key_value(self, feats, data, coords):
        """feats (B, L, ch), data (B, L, C) scaled, coords (L, 2) -> keys, values."""
        pos = coords.expand(feats.shape[0], -1, -1).to(feats.dtype)
        kv_in = torch.cat([feats, data.to(feats.dtype), pos], -1)
        return self.split(self.k(kv_in)), self.split(self.v(kv_in))

    def null(self, n):  # (n, heads, 1, d) each
        return (self.split(self.null_k.expand(n, 1, -1)), self.split(self.null_v.expand(n, 1, -1)))

    def forward(self, h, data, coords):  # h (B, ch, H, W), data (B, C, H, W)
        B, ch, H, W = h.shape
        feats = h.flatten(2).transpose(1, 2)  # (B, HW, ch)
        q = self.query(feats, coords)  # (B, heads, HW, d)
        k, v = self.key_value(feats, data.flatten(2).transpose(1, 2), coords)
        nk, nv = self.null(B)
        k, v = torch.cat([nk, k], 2), torch.cat([nv, v], 2)
        L = H * W
        # query i may see the null entry (column 0) and pixels j < i (column j+1)
        allowed = torch.ones(L, L + 1, dtype=torch.bool, device=h.device).tril(0)
        out = _causal_attention(q, k, v)  # (B, heads, HW, dv/heads): the mask `allowed`
        self._record(q, k, allowed)
        out = self.out(out.transpose(1, 2).flatten(2))  # (B, HW, ch)
        return h + out.transpose(1, 2).reshape(B, ch, H, W)


@register_model(
    "pixelsnail",
    family=ATTENTION_MODELS,
    paper=("Chen, Mishra, Rohaninejad, Abbeel, PixelSNAIL: An Improved Autoregressive "
           "Generative Model, ICML 2018"),
    summary=("Gated residual causal convolutions for local detail, interleaved with causal "
             "self-attention over every earlier pixel for long-range context. Raster or "
             "zigzag ordering; softmax or logistic-mixture output. Cached sampling keeps "
             "convolution caches and a key/value cache."),
    factorisation="p(x) = prod over pixels (raster or zigzag) and channels of p(x_i | x_<i)",
    presets={"tiny": {"channels": 8, "layers": 1, "residuals": 1, "key_channels": 8,
                      "value_channels": 8, "heads": 2, "head_channels": 8},
             "quick demo": {"channels": 32, "layers": 2},
             "quality": {"channels": 64, "layers": 8, "residuals": 2}},
)
class PixelSNAIL(ARModel):
    config_renames = {"blocks": "layers"}  # checkpoints before the shared names
    state_renames = PIXEL_HEAD_RENAMES  # checkpoints of the nn.Sequential head

    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # width of the residual stream
        layers: int = 4  # blocks of (residual convs + attention) (the modules are self.blocks)
        residuals: int = 2  # gated residual convs per block
        kernel: int = 3  # odd; causal kernels are (k//2+1)×k
        key_channels: int = 16  # query/key width (all heads)
        value_channels: int = 32  # value width (all heads)
        heads: int = 2  # attention heads; must divide key and value widths
        head_channels: int = 64  # hidden width of the output head
        ordering: str = "raster"  # "raster" or "zigzag" (odd rows right to left)
        output: str = "softmax"  # "softmax" or "dmol"
        mixtures: int = 5  # logistic components when output="dmol"

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, H, W = spec.shape
        if config.ordering not in ORDERINGS:
            raise ValueError(f"ordering must be one of {ORDERINGS}")
        ch, k = grouped_width(config.channels, C), config.kernel
        self.input = CausalConv2d(C, ch, (k // 2 + 1, k), k // 2, "A", C)
        self.blocks = nn.ModuleList()
        for _ in range(config.layers):
            self.blocks.append(nn.ModuleList(
                [GatedResidual(ch, k, C) for _ in range(config.residuals)]
                + [CausalAttention(ch, ch // C, config.key_channels, config.value_channels,
                                   config.heads, C)]))
        self.head = PixelHead(ch, config.head_channels, spec, config.output, config.mixtures)
        rows, cols = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
        self.register_buffer("coords", torch.stack([rows, cols], -1).view(H * W, 2), persistent=False)

    # --- ordering: zigzag mirrors the odd rows so the network always runs raster ---
    def _mirror(self, t):  # (..., H, W) -> same, odd rows reversed when zigzag
        if self.config.ordering == "raster":
            return t
        t = t.clone()
        t[..., 1::2, :] = t[..., 1::2, :].flip(-1)
        return t

    def _col(self, r, c):  # internal column <-> data column (an involution)
        return self.spec.shape[2] - 1 - c if self.config.ordering == "zigzag" and r % 2 else c

    def _internal_pixel(self, pixel):
        r, c = divmod(pixel, self.spec.shape[2])
        return r * self.spec.shape[2] + self._col(r, c)

    @property
    def order(self):
        C, H, W = self.spec.shape
        pix = torch.tensor([self._internal_pixel(q) for q in range(H * W)])  # involution
        return (torch.arange(C).view(1, C) * H * W + pix.view(-1, 1)).reshape(-1)

    def conditionals(self, x, **cond):
        data = self._mirror(self.scale_input(x))  # (B, C, H, W), internal order
        h = self.input(data)  # (B, ch, H, W)
        for block in self.blocks:
            for layer in block[:-1]:
                h = layer(h)
            h = block[-1](h, data, self.coords)
        dist = self.head(h)  # (B, C, H, W) in internal coordinates
        return dist._rebuild([self._mirror(p.movedim(-1, 0)).movedim(0, -1) for p in dist.params()])

    def feature_layers(self):
        if self.config.ordering != "raster":  # the zigzag network's maps are mirrored rows
            return []
        out = [("mask A input", self.input, None)]
        for b, block in enumerate(self.blocks):
            out += [(f"block {b + 1} residual {i + 1}", res, None) for i, res in enumerate(block[:-1])]
            out.append((f"block {b + 1} attention", block[-1], None))
        return out

    # --- cached generation ---------------------------------------------------------
    def make_stepper(self, x, **cond):
        return PixelSNAILStepper(self, x)


class PixelSNAILStepper(InputStepper):
    """Per-pixel convolution caches plus one key/value cache per attention layer, in the
    network's own (possibly zigzag) pixel order."""

    def __init__(self, model: PixelSNAIL, x):
        super().__init__(model, x)
        n, f, H, W = self.n, self.like, self.H, self.W
        self.data_column = model._col
        self.res = [(res.conv1.new_cache(n, H, W, f), res.conv2.new_cache(n, H, W, f))
                    for block in model.blocks for res in block[:-1]]
        self.kv = [block[-1].new_cache(n, H * W, f) for block in model.blocks]
        # each attention layer's input features at the previous pixel: its key and value
        # are made once that pixel's data are all known (at the next pixel)
        ch = model.input.out_channels
        self.feats = [f.new_zeros(n, H * W, ch) for _ in model.blocks]  # (n, HW, ch) each

    def internal_pixel(self, pixel):
        return self.model._internal_pixel(pixel)

    def compute_pixel(self, x, r, c):
        m, w, W = self.model, self.weights, self.W
        h = self.first_layer(x, r, c)  # (n, ch)
        p, res_caches = r * W + c, iter(self.res)
        if p > 0:  # the previous pixel is complete: its keys and values are final
            pr, pc = divmod(p - 1, W)
            data = m.scale_input(x[:, :, pr, m._col(pr, pc)]).unsqueeze(1)  # (n, 1, C)
            for block, kv, feats in zip(m.blocks, self.kv, self.feats):
                kv.put(p, *block[-1].key_value(feats[:, p - 1: p], data, m.coords[p - 1: p]))
        for b, (block, kv) in enumerate(zip(m.blocks, self.kv)):
            for res in block[:-1]:
                c1, c2 = next(res_caches)
                res.conv1.write(c1, r, c, F.elu(h))
                a = res.conv1.at(c1, r, c, w[res.conv1])
                res.conv2.write(c2, r, c, F.elu(a))
                h = h + gated_tanh(res.conv2.at(c2, r, c, w[res.conv2]))
            attn = block[-1]
            self.feats[b][:, p] = h  # (n, ch)
            q = attn.query(h.unsqueeze(1), m.coords[p: p + 1])  # (n, heads, 1, d)
            out = kv.attend(q, p + 1)  # the null entry and pixels < p
            h = h + attn.out(out.transpose(1, 2).flatten(1))  # (n, ch)
        return h
