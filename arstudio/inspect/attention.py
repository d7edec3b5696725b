"""Where each attention head looks from one pixel: the weights of the model's own pass.

Every attention layer of the model (:class:`RecordsAttention
<arstudio.nn.attention.RecordsAttention>`: the Image Transformer's causal
self-attention, PixelSNAIL's attention over earlier pixels) records its
softmax weights during one teacher-forced pass; :func:`attention_maps` turns the
row of the clicked pixel's query into an (H, W) map per layer and head.

Keys are mapped back to pixels by how each model lays them out:

- a token sequence (the Image Transformer, ``L = D`` tokens in generation order
  behind a start token): key s > 0 holds dimension ``order[s - 1]``, key 0 the
  start token; the query is the token predicting the pixel's first channel;
- a pixel sequence with a null entry (PixelSNAIL, ``L_k = 1 + HW``): key 0 is the
  learned null key, key j + 1 pixel j; the query is the pixel's own row.

The weight that does not land on a pixel (start token or null entry) is kept as
``extra``; ``map.sum() + extra`` is 1 and ``map`` is zero at every pixel the
query may not see.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arstudio.nn.attention import RecordsAttention


@dataclass
class AttentionMap:
    layer: str  # the attention module's path in the model
    head: int
    map: np.ndarray  # (H, W) attention weight on each pixel (summed over its channels)
    extra: float  # weight on the start token / null entry
    extra_name: str  # "start token" or "null entry"


def attention_layers(model) -> list[tuple[str, RecordsAttention]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, RecordsAttention)]


def attention_maps(model, x: torch.Tensor, pixel: tuple[int, int], **cond) -> list[AttentionMap]:
    """Attention of every layer and head from ``pixel`` = (row, col) for one example ``x``."""
    if len(model.spec.shape) != 3:
        raise ValueError(f"attention maps are for images, not {model.spec.describe()}")
    layers = attention_layers(model)
    if not layers:
        raise ValueError(f"{model.registry_name} has no attention layers")
    C, H, W = model.spec.shape
    r, c = pixel
    D, P = C * H * W, H * W
    records = []
    for _, m in layers:
        m.record = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model.log_prob(x.unsqueeze(0).to(model.device), reduce=False, **cond)
        records = [m.record for _, m in layers]
    finally:
        for _, m in layers:
            m.record = None
        model.train(was_training)
    order = model.order
    rank = torch.empty(D, dtype=torch.long)
    rank[order] = torch.arange(D)
    out = []
    for (name, _), rec in zip(layers, records):
        if len(rec) != 1:
            raise ValueError(f"{name} ran {len(rec)} times in one pass")
        w = rec[0][0]  # (heads, Lq, Lk)
        Lq, Lk = w.shape[-2:]
        if Lq == D and Lk == D:  # tokens behind a start token
            q = int(rank[r * W + c])  # the pixel's first channel
            dims = order[: Lk - 1]  # key s (s >= 1) holds dims[s - 1]
            for h in range(w.shape[0]):
                row = w[h, q]
                flat = torch.zeros(D).index_add_(0, dims, row[1:].float())
                out.append(AttentionMap(name, h, flat.view(C, H, W).sum(0).numpy(),
                                        float(row[0]), "start token"))
        elif Lq == P and Lk == P + 1:  # pixels behind a null entry
            q = r * W + c
            for h in range(w.shape[0]):
                row = w[h, q]
                out.append(AttentionMap(name, h, row[1:].float().view(H, W).numpy().copy(),
                                        float(row[0]), "null entry"))
        else:
            raise ValueError(f"{name}: attention over {Lq}×{Lk} is no layout of a {C}×{H}×{W} image")
    return out
