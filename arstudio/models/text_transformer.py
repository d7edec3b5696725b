"""A small decoder-only Transformer over characters (or any levels).

Vaswani et al., "Attention Is All You Need", NeurIPS 2017; decoder-only
language modelling as in Radford et al., "Improving Language Understanding
by Generative Pre-Training", 2018. Pre-norm blocks of causal multi-head
self-attention and an MLP; a start token in place of x_{-1} and learned
positions. Sampling keeps a key/value cache per layer, so step t attends to
t cached keys instead of rerunning the prefix. ``top_k=`` (a sampling option,
passed through ``sample``/``conditionals``) keeps only the k most likely
levels; ``temperature`` is the base sampler's.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import register_model


def keep_top_k(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Levels outside the k largest logits get -inf (probability zero)."""
    if not top_k or top_k >= logits.shape[-1]:
        return logits
    kth = logits.topk(int(top_k), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def split(self, t):  # (B, T, W) -> (B, heads, T, W/heads)
        B, T, W = t.shape
        return t.view(B, T, self.heads, W // self.heads).transpose(1, 2)

    def forward(self, h, cache=None, t=None):
        """Full pass (cache None) or one position ``t`` writing into ``cache``."""
        q, k, v = (self.split(z) for z in self.qkv(h).chunk(3, dim=-1))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # h is (n, 1, W): store its key/value, attend to positions 0..t
            cache["k"][:, :, t:t + 1], cache["v"][:, :, t:t + 1] = k, v
            y = F.scaled_dot_product_attention(q, cache["k"][:, :, :t + 1], cache["v"][:, :, :t + 1])
        B, _, T, _ = y.shape
        return self.proj(y.transpose(1, 2).reshape(B, T, -1))


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(),
                                 nn.Linear(mlp_ratio * width, width))

    def forward(self, h, cache=None, t=None):
        h = h + self.attn(self.ln1(h), cache, t)
        return h + self.mlp(self.ln2(h))


@register_model(
    "text-transformer",
    family="Sequence models",
    modalities=("sequence",),
    paper="Vaswani et al., Attention Is All You Need, NeurIPS 2017 (decoder-only, char-level)",
    summary=("A small GPT-style Transformer: causal self-attention sees the whole prefix. "
             "Training computes every conditional at once; sampling keeps a key/value "
             "cache. Temperature and top-k shape the samples."),
    factorisation="p(x) = prod_t p(x_t | x_<t) through causal attention",
    presets={"tiny": {"width": 16, "heads": 2, "blocks": 1},
             "quick demo": {"width": 128, "heads": 4, "blocks": 4},
             "quality": {"width": 256, "heads": 8, "blocks": 6}},
)
class TextTransformer(ARModel):
    @dataclass(frozen=True)
    class Config:
        width: int = 128  # model width (embedding size)
        heads: int = 4  # attention heads (width must divide by it)
        blocks: int = 4  # Transformer blocks
        mlp_ratio: int = 4  # MLP hidden width = mlp_ratio * width

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        if config.width % config.heads:
            raise ValueError(f"width {config.width} must divide by heads {config.heads}")
        K, T, W = spec.levels, spec.num_dims, config.width
        self.token = nn.Embedding(K + 1, W)  # index K = start token
        self.position = nn.Parameter(torch.randn(T, W) * 0.02)
        self.blocks = nn.ModuleList(Block(W, config.heads, config.mlp_ratio)
                                    for _ in range(config.blocks))
        self.ln = nn.LayerNorm(W)
        self.out = nn.Linear(W, K)

    def conditionals(self, x, top_k=None, **cond):
        start = torch.full_like(x[:, :1], self.spec.levels)
        inp = torch.cat([start, x[:, :-1]], dim=1).long()  # (B, T): shifted right
        # position t embeds x_{t-1} (a start token at 0): shift 1 for the input hook
        h = self.input_hook(self.token(inp), feature_axis=-1, shift=1) + self.position  # (B, T, W)
        for block in self.blocks:
            h = block(h)
        return Categorical(keep_top_k(self.out(self.ln(h)), top_k))  # (B, T, K)

    def make_stepper(self, x, top_k=None, **cond):
        return _KVCacheStepper(self, x.shape[0], x.device, top_k)


class _KVCacheStepper:
    def __init__(self, model: TextTransformer, n, device, top_k):
        self.model, self.next, self.top_k = model, 0, top_k
        c, T = model.config, model.spec.num_dims
        shape = (n, c.heads, T, c.width // c.heads)
        self.caches = [{"k": torch.zeros(shape, device=device), "v": torch.zeros(shape, device=device)}
                       for _ in model.blocks]

    def _advance(self, flat):  # logits (n, K) for position self.next
        m, t = self.model, self.next
        prev = torch.full_like(flat[:, 0], m.spec.levels) if t == 0 else flat[:, t - 1]
        h = (m.token(prev.long()) + m.position[t]).unsqueeze(1)  # (n, 1, W)
        for block, cache in zip(m.blocks, self.caches):
            h = block(h, cache, t)
        self.next += 1
        return keep_top_k(m.out(m.ln(h[:, 0])), self.top_k)

    def conditional(self, index, x):
        flat = x.view(x.shape[0], -1)
        while self.next < index:
            self._advance(flat)
        return Categorical(self._advance(flat))
