"""Gated activations, written once.

``gated_tanh``: the gated unit of PixelCNN decoders and WaveNet (van den Oord
et al., "Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016;
"WaveNet", 2016): the pre-activation's two halves along ``dim`` are a filter
and a gate,

    [f | g]  ->  tanh(f) ⊙ σ(g)          (.., 2h, ..) -> (.., h, ..)

``gated_linear``: the gated linear unit of PixelCNN++'s gated resnets
(Dauphin et al., "Language Modeling with Gated Convolutional Networks", 2017),

    [a | b]  ->  a ⊙ σ(b)
"""
from __future__ import annotations

import torch


def gated_tanh(pre: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """tanh(first half) ⊙ σ(second half) along ``dim`` (the channel axis by default)."""
    f, g = pre.chunk(2, dim=dim)
    return torch.tanh(f) * torch.sigmoid(g)


def gated_linear(pre: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """first half ⊙ σ(second half) along ``dim``."""
    a, b = pre.chunk(2, dim=dim)
    return a * torch.sigmoid(b)
