"""Image Transformer: a decoder-only Transformer over the pixels.

Parmar, Vaswani, Uszkoreit, Kaiser, Shazeer, Ku, Tran, "Image Transformer",
ICML 2018 (here with full causal attention over the whole image rather than
local 1-D/2-D blocks, which is exact for the small images the studio uses).

Every sub-pixel is one token, in raster order with R -> G -> B inside a
pixel. Token t reads the value of token t-1 (a learned start token for
t = 0) plus a learned 2-D position embedding of the pixel it predicts (row
+ column + colour channel), runs through pre-LayerNorm Transformer blocks
with a causal mask, and gives K logits for its sub-pixel. Sampling keeps a
key/value cache: each step runs one new token through the blocks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model


class Block(nn.Module):
    """Pre-LN causal self-attention + MLP, with an optional key/value cache."""

    def __init__(self, d, heads, mlp_ratio, dropout):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp_ratio * d), nn.GELU(), nn.Linear(mlp_ratio * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, cache=None, t=None):  # x (B, L, d)
        q, k, v = self.qkv(self.ln1(x)).unflatten(-1, (3, self.heads, -1)).permute(2, 0, 3, 1, 4)
        if cache is None:  # (B, heads, L, d/heads) each
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # one new token at position t: append its key/value, attend to 0..t
            K, V = cache
            K[:, :, t: t + 1], V[:, :, t: t + 1] = k, v
            a = F.scaled_dot_product_attention(q, K[:, :, : t + 1], V[:, :, : t + 1])
        x = x + self.drop(self.proj(a.transpose(1, 2).flatten(2)))
        return x + self.drop(self.mlp(self.ln2(x)))


@register_model(
    "image-transformer",
    family="Attention models",
    modalities=("image",),
    paper=("Parmar, Vaswani, Uszkoreit, Kaiser, Shazeer, Ku, Tran, Image Transformer, "
           "ICML 2018"),
    summary=("A decoder-only Transformer: each sub-pixel is a token that attends to every "
             "earlier one through a causal mask, with learned row/column/channel position "
             "embeddings. Sampling reuses a key/value cache, one token per step."),
    factorisation="p(x) = prod over sub-pixels in raster order (R,G,B inside) of p(x_i | x_<i)",
    presets={"tiny": {"d_model": 16, "layers": 1, "heads": 2, "mlp_ratio": 2},
             "quick demo": {"d_model": 64, "layers": 2},
             "quality": {"d_model": 128, "layers": 6, "heads": 8}},
)
class ImageTransformer(ARModel):
    @dataclass(frozen=True)
    class Config:
        d_model: int = 64  # token width
        layers: int = 4  # Transformer blocks
        heads: int = 4  # attention heads (must divide d_model)
        mlp_ratio: int = 4  # MLP hidden width = mlp_ratio * d_model
        dropout: float = 0.0  # on attention and MLP outputs while training

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        C, H, W = spec.shape
        d = config.d_model
        self.value = nn.Embedding(spec.levels, d)
        self.value_scalar = nn.Parameter(torch.zeros(d))  # d * scaled value: the float input path
        self.start = nn.Parameter(torch.zeros(d))
        self.row, self.col, self.channel = nn.Embedding(H, d), nn.Embedding(W, d), nn.Embedding(C, d)
        for t in (self.row.weight, self.col.weight, self.channel.weight, self.value_scalar):
            nn.init.normal_(t, std=0.02)
        self.blocks = nn.ModuleList(Block(d, config.heads, config.mlp_ratio, config.dropout)
                                    for _ in range(config.layers))
        self.ln = nn.LayerNorm(d)
        self.logits = nn.Linear(d, spec.levels)
        order = torch.arange(C * H * W).view(C, H * W).t().reshape(-1)
        self.register_buffer("order_", order, persistent=False)
        g, pix = order // (H * W), order % (H * W)
        self.register_buffer("tok_channel", g, persistent=False)
        self.register_buffer("tok_row", pix // W, persistent=False)
        self.register_buffer("tok_col", pix % W, persistent=False)

    @property
    def order(self):
        return self.order_.cpu()

    def position(self, t):  # embeddings of the sub-pixels tokens t predict: (len(t), d)
        return self.row(self.tok_row[t]) + self.col(self.tok_col[t]) + self.channel(self.tok_channel[t])

    def embed_values(self, values, scaled):  # (B, L) ints and floats -> (B, L, d)
        return self.value(values) + scaled.unsqueeze(-1) * self.value_scalar

    def conditionals(self, x, **cond):
        B = x.shape[0]
        seq = x.reshape(B, -1)[:, self.order_]  # (B, D) in generation order
        scaled = self.scale_input(x).reshape(B, -1)[:, self.order_]
        tokens = torch.cat([self.start.expand(B, 1, -1),
                            self.embed_values(seq[:, :-1], scaled[:, :-1])], 1)  # shifted right
        h = tokens + self.position(torch.arange(seq.shape[1], device=x.device))
        for block in self.blocks:
            h = block(h)
        logits = self.logits(self.ln(h))  # (B, D, K), token order
        out = torch.empty_like(logits)
        out[:, self.order_] = logits
        return Categorical(out.view(B, *self.spec.shape, -1))

    def make_stepper(self, x, **cond):
        return KVCacheStepper(self, x)


class KVCacheStepper:
    """Runs each token once through the blocks, keeping every layer's keys/values."""

    def __init__(self, model: ImageTransformer, x):
        self.model, self.next_token = model, 0
        n, D, d = x.shape[0], model.num_dims, model.config.d_model
        shape = (n, model.config.heads, D, d // model.config.heads)
        f = model.start
        self.cache = [(f.new_zeros(shape), f.new_zeros(shape)) for _ in model.blocks]
        self.order = model.order.tolist()  # host-side: no device sync per step
        self.position = {i: t for t, i in enumerate(self.order)}
        with torch.no_grad():  # every token's position embedding, computed once
            self.pos = model.position(torch.arange(D, device=model.start.device))  # (D, d)
        self.logits = None

    def conditional(self, index, x):
        m, n = self.model, x.shape[0]
        target = self.position[index]
        flat = x.reshape(n, -1)
        for t in range(self.next_token, target + 1):  # catches up on skipped (known) tokens
            if t == 0:
                h = m.start.expand(n, 1, -1)
            else:
                prev = self.order[t - 1]
                value = flat[:, prev: prev + 1]  # (n, 1)
                h = m.embed_values(value, m.scale_input(value))
            h = h + self.pos[t: t + 1]  # (n, 1, d)
            for block, cache in zip(m.blocks, self.cache):
                h = block(h, cache, t)
            self.logits = m.logits(m.ln(h[:, 0]))  # (n, K)
        self.next_token = target + 1
        return Categorical(self.logits)
