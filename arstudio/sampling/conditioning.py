"""What a conditional model samples, completes and is inspected under, from the user's choices.

The class (``label=``, models with ``uses_labels``) and the painted map of where the
digit should go (``local=``, image models with a ``local_map``: a Gated PixelCNN
conditioned on a spatial map) are asked of the model's declared capabilities, so
every view conditions the same way. No Qt here.
"""
from __future__ import annotations

import numpy as np


def default_location(local_map) -> np.ndarray:
    """A centred box half the canvas's side: (C, H, W) float32 (what the picker starts with)."""
    c, h, w = local_map
    out = np.zeros((c, h, w), np.float32)
    out[:, h // 4: h // 4 + h // 2, w // 4: w // 4 + w // 2] = 1.0
    return out


def conditioning(model, label=None, location=None) -> dict:
    """Keyword arguments for ``model.sample`` / ``log_prob`` / ``complete_steps``: one class
    id (class 0 when none is chosen) and one map (C, H, W) (the centred box when none is
    painted), each broadcast over the batch; empty for an unconditional model."""
    import torch

    cond = {}
    if model.uses_labels and model.spec.modality == "image":
        cond["label"] = torch.tensor(0 if label is None else int(label))
    if model.local_map is not None:
        where = default_location(model.local_map) if location is None else np.asarray(location, np.float32)
        if where.shape != tuple(model.local_map):
            raise ValueError(f"the painted map is {where.shape}, the model takes {tuple(model.local_map)}")
        cond["local"] = torch.as_tensor(where)[None].to(model.device)  # (1, C, H, W)
    return cond


def map_needed(model, task: str) -> str | None:
    """Why ``task`` (coding or scoring data by itself) cannot use ``model``, or None when it can.
    A map-conditioned model gives p(x | where the digit is); an image file, a data set to
    score or a .arz file carries no such map, and a made-up one would change every figure."""
    if model.local_map is None:
        return None
    return (f"{task} needs a model of the data alone; this one is conditioned on a painted map of "
            "where the digit goes, which the data do not carry: choose another model")
