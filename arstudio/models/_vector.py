"""Shared plumbing of the fully-visible vector models (not a model itself).

Vector models see any spec as a flat vector of D = spec.num_dims entries
(images are flattened in raster order, channel-major like the tensor). Each
entry becomes F input features and each conditional O output logits:

    binary      F = 1 (2x - 1, ±1)      O = 1 (a sigmoid, as in the papers)
    K levels    F = K (one-hot)         O = K (the softmax generalisation)
    real        F = 1 (x itself)        -- the model brings its own head
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from arstudio.distributions import Categorical


def input_features(spec) -> int:
    """Features per dimension fed to the network."""
    return spec.levels if spec.levels not in (None, 2) else 1


def output_logits(spec) -> int:
    """Logits per dimension: one sigmoid logit for binary data, K softmax logits otherwise."""
    return 1 if spec.levels == 2 else spec.levels


def encode(x: torch.Tensor, spec) -> torch.Tensor:
    """(B, *shape) data -> (B, D, F) float features."""
    flat = x.reshape(x.shape[0], -1)
    if spec.levels is None:
        return flat.float().unsqueeze(-1)
    if spec.levels == 2:
        # ±1 rather than 0/1: the same model family (a shift of the biases), but
        # every observed bit moves the units it feeds, so training starts faster
        return (2.0 * flat.float() - 1.0).unsqueeze(-1)
    return F.one_hot(flat.long(), spec.levels).float()


def encode_input(model, x: torch.Tensor) -> torch.Tensor:
    """:func:`encode` through the model's input hook (what gradient probes differentiate)."""
    return model.input_hook(encode(x, model.spec), feature_axis=-1)  # (B, D, F)


def categorical_head(logits: torch.Tensor, spec) -> Categorical:
    """(B, D, O) logits -> Categorical with batch shape (B, *spec.shape)."""
    B = logits.shape[0]
    if spec.levels == 2:
        dist = Categorical.from_bernoulli_logits(logits.squeeze(-1))  # (B, D, 2)
    else:
        dist = Categorical(logits)  # (B, D, K)
    return Categorical(dist.logits.reshape(B, *spec.shape, dist.logits.shape[-1]))


def categorical_one(logits: torch.Tensor, spec) -> Categorical:
    """(n, 1, O) logits of one dimension (a stepper's) -> Categorical with batch shape (n,)."""
    return categorical_head(logits, type(spec)((1,), spec.levels, "vector")).at(0)


def ranks_of(order: torch.Tensor) -> torch.Tensor:
    """rank[d] = position of flattened dimension d in ``order``."""
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(order.numel(), device=order.device)
    return ranks


def hidden_widths(hidden) -> tuple[int, ...]:
    """Hidden-layer widths from a config value: (500, 500), [500], 500 or "500,500".

    The CLI's ``--set hidden=256,256`` arrives as a string; checkpoints store JSON lists."""
    if isinstance(hidden, str):
        hidden = [h for h in hidden.strip("[]() ").replace(" ", "").split(",") if h]
    if isinstance(hidden, int):
        hidden = [hidden]
    widths = tuple(int(h) for h in hidden)
    if not widths or min(widths) < 1:
        raise ValueError(f"hidden must list positive widths, got {hidden!r}")
    return widths
