"""Causal self-attention with a key/value cache, and the pre-LN Transformer block.

Vaswani et al., "Attention Is All You Need", NeurIPS 2017; pre-LayerNorm
blocks as in GPT-2 (Radford et al. 2019). Used by the Image Transformer, the
text Transformer and (the cache and the attention itself) PixelSNAIL.

Causal mask over L positions (1 = query row may attend to key column)::

    key:    0 1 2 3
    q 0     1 0 0 0
    q 1     1 1 0 0
    q 2     1 1 1 0
    q 3     1 1 1 1

Cached generation runs one new position at a time: its key and value are
written into a :class:`KVCache` (preallocated, (n, heads, L, d) each) and its
query attends to the cached entries 0..t, which is exactly row t of the mask.

For the inspector, an attention layer (:class:`RecordsAttention`) whose
``record`` is a list appends, on each full pass, the attention weights it
used, softmax(q kᵀ / √d) over the allowed keys, (B, heads, L_q, L_k) on the
CPU (:func:`attention_weights`; the output is still computed by
``scaled_dot_product_attention``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def split_heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, d) -> (B, heads, L, d/heads)."""
    return t.unflatten(-1, (heads, -1)).transpose(1, 2)


def merge_heads(t: torch.Tensor) -> torch.Tensor:
    """(B, heads, L, d/heads) -> (B, L, d)."""
    return t.transpose(1, 2).flatten(2)


class KVCache:
    """Keys and values of the positions generated so far: (n, heads, length, d) each."""

    def __init__(self, n: int, heads: int, length: int, head_dim: int, like: torch.Tensor,
                 value_dim: int | None = None):
        # keys and values may differ in width (PixelSNAIL: 16-wide keys, 32-wide values)
        self.k = like.new_zeros(n, heads, length, head_dim)
        self.v = like.new_zeros(n, heads, length, head_dim if value_dim is None else value_dim)

    def put(self, pos: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store the keys/values (n, heads, P, d) of positions pos .. pos+P-1."""
        self.k[:, :, pos: pos + k.shape[2]] = k
        self.v[:, :, pos: pos + v.shape[2]] = v

    def attend(self, q: torch.Tensor, upto: int) -> torch.Tensor:
        """Queries (n, heads, 1, d) over the cached entries 0 .. upto-1."""
        return F.scaled_dot_product_attention(q, self.k[:, :, :upto], self.v[:, :, :upto])


def attention_weights(q: torch.Tensor, k: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d) with disallowed keys at zero: (B, heads, Lq, Lk); ``allowed`` (Lq, Lk) bool."""
    scores = q.float() @ k.float().transpose(-2, -1) / q.shape[-1] ** 0.5
    return scores.masked_fill(~allowed, float("-inf")).softmax(-1)


class RecordsAttention(nn.Module):
    """An attention layer the inspector can read: set ``record`` to a list and every full
    pass appends its attention weights (B, heads, Lq, Lk), detached, on the CPU."""

    record: list | None = None

    def _record(self, q, k, allowed):
        if self.record is not None:
            self.record.append(attention_weights(q.detach(), k.detach(), allowed).cpu())


class CausalSelfAttention(RecordsAttention):
    """Multi-head self-attention where position t sees positions <= t."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} must divide by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def new_cache(self, n: int, length: int, like: torch.Tensor) -> KVCache:
        return KVCache(n, self.heads, length, self.proj.in_features // self.heads, like)

    def forward(self, h, cache: KVCache | None = None, t: int | None = None):
        """(B, L, d): a full causal pass (``cache`` None), or one new position ``t``
        ((n, 1, d)) whose key/value go into ``cache``."""
        q, k, v = (split_heads(z, self.heads) for z in self.qkv(h).chunk(3, dim=-1))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            L = q.shape[2]
            self._record(q, k, torch.ones(L, L, dtype=torch.bool, device=q.device).tril())
        else:
            cache.put(t, k, v)
            y = cache.attend(q, t + 1)
        return self.proj(merge_heads(y))


class TransformerBlock(nn.Module):
    """Pre-LN block: h + attn(LN(h)), then h + MLP(LN(h)), dropout on both branches."""

    def __init__(self, d_model: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(),
                                 nn.Linear(mlp_ratio * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, h, cache: KVCache | None = None, t: int | None = None):  # (B, L, d)
        h = h + self.drop(self.attn(self.ln1(h), cache, t))
        return h + self.drop(self.mlp(self.ln2(h)))
