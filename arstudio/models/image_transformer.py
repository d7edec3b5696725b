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
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import ATTENTION_MODELS, register_model
from arstudio.models.steppers import SequenceStepper, raster_order
from arstudio.nn.attention import TransformerBlock


@register_model(
    "image-transformer",
    family=ATTENTION_MODELS,
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
    # checkpoints from before the shared TransformerBlock: blocks.i.qkv -> blocks.i.attn.qkv
    state_renames = ((r"^blocks\.(\d+)\.(qkv|proj)\.", r"blocks.\1.attn.\2."),)

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
        self.blocks = nn.ModuleList(TransformerBlock(d, config.heads, config.mlp_ratio, config.dropout)
                                    for _ in range(config.layers))
        self.ln = nn.LayerNorm(d)
        self.logits = nn.Linear(d, spec.levels)
        order = raster_order(spec.shape)
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

    def feature_layers(self):
        return [(f"block {i + 1}", b, None) for i, b in enumerate(self.blocks)]  # (B, D, d) tokens

    def make_stepper(self, x, **cond):
        return KVCacheStepper(self, x)


class KVCacheStepper(SequenceStepper):
    """Runs each token once through the blocks, keeping every layer's keys/values."""

    def __init__(self, model: ImageTransformer, x):
        super().__init__(model)
        n, D = x.shape[0], model.num_dims
        self.caches = [block.attn.new_cache(n, D, model.start) for block in model.blocks]
        self.order = model.order.tolist()  # host-side: no device sync per step
        self.rank = {i: t for t, i in enumerate(self.order)}
        with torch.no_grad():  # every token's position embedding, computed once
            self.pos = model.position(torch.arange(D, device=model.start.device))  # (D, d)

    def position(self, index):
        return self.rank[index]

    def advance(self, t, flat):
        m, n = self.model, flat.shape[0]
        if t == 0:
            h = m.start.expand(n, 1, -1)
        else:
            prev = self.order[t - 1]
            value = flat[:, prev: prev + 1]  # (n, 1)
            h = m.embed_values(value, m.scale_input(value))
        h = h + self.pos[t: t + 1]  # (n, 1, d)
        for block, cache in zip(m.blocks, self.caches):
            h = block(h, cache, t)
        return h[:, 0]  # (n, d)

    def head(self, h, index):
        return Categorical(self.model.logits(self.model.ln(h)))  # (n, K)
