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
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import SEQUENCE_MODELS, register_model
from arstudio.models.steppers import SequenceStepper
from arstudio.nn.attention import TransformerBlock


def keep_top_k(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Levels outside the k largest logits get -inf (probability zero)."""
    if not top_k or top_k >= logits.shape[-1]:
        return logits
    kth = logits.topk(int(top_k), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


@register_model(
    "text-transformer",
    family=SEQUENCE_MODELS,
    modalities=("sequence",),
    paper="Vaswani et al., Attention Is All You Need, NeurIPS 2017 (decoder-only, char-level)",
    summary=("A small GPT-style Transformer: causal self-attention sees the whole prefix. "
             "Training computes every conditional at once; sampling keeps a key/value "
             "cache. Temperature and top-k shape the samples."),
    factorisation="p(x) = prod_t p(x_t | x_<t) through causal attention",
    presets={"tiny": {"d_model": 16, "heads": 2, "layers": 1},
             "quick demo": {"d_model": 128, "heads": 4, "layers": 4},
             "quality": {"d_model": 256, "heads": 8, "layers": 6}},
)
class TextTransformer(ARModel):
    @dataclass(frozen=True)
    class Config:
        d_model: int = 128  # token width (embedding size); the Image Transformer's name too
        heads: int = 4  # attention heads (d_model must divide by it)
        layers: int = 4  # Transformer blocks
        mlp_ratio: int = 4  # MLP hidden width = mlp_ratio * d_model

    config_renames = {"width": "d_model", "blocks": "layers"}  # checkpoints before the shared names

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        if config.d_model % config.heads:
            raise ValueError(f"d_model {config.d_model} must divide by heads {config.heads}")
        K, T, d = spec.levels, spec.num_dims, config.d_model
        self.token = nn.Embedding(K + 1, d)  # index K = start token
        self.position = nn.Parameter(torch.randn(T, d) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(d, config.heads, config.mlp_ratio)
                                    for _ in range(config.layers))
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, K)

    def conditionals(self, x, top_k=None, **cond):
        start = torch.full_like(x[:, :1], self.spec.levels)
        inp = torch.cat([start, x[:, :-1]], dim=1).long()  # (B, T): shifted right
        # position t embeds x_{t-1} (a start token at 0): shift 1 for the input hook
        h = self.input_hook(self.token(inp), feature_axis=-1, shift=1) + self.position  # (B, T, W)
        for block in self.blocks:
            h = block(h)
        return Categorical(keep_top_k(self.out(self.ln(h)), top_k))  # (B, T, K)

    def make_stepper(self, x, top_k=None, **cond):
        return _KVCacheStepper(self, x, top_k)


class _KVCacheStepper(SequenceStepper):
    """Each position once through the blocks, keeping every layer's keys/values."""

    def __init__(self, model: TextTransformer, x, top_k):
        super().__init__(model)
        self.top_k = top_k
        n, T = x.shape[0], model.spec.num_dims
        self.caches = [block.attn.new_cache(n, T, model.position) for block in model.blocks]

    def advance(self, t, flat):
        m = self.model
        prev = torch.full_like(flat[:, 0], m.spec.levels) if t == 0 else flat[:, t - 1]
        h = (m.token(prev.long()) + m.position[t]).unsqueeze(1)  # (n, 1, d)
        for block, cache in zip(m.blocks, self.caches):
            h = block(h, cache, t)
        return h[:, 0]  # (n, d)

    def head(self, h, index):
        return Categorical(keep_top_k(self.model.out(self.model.ln(h)), self.top_k))
