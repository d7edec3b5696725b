"""What a cached stepper keeps and what it computes for one pixel, read from its real caches (no Qt).

Fast generation (Ramachandran et al. 2017, "Fast Generation for Convolutional
Autoregressive Models"; Fast WaveNet, Paine et al. 2016) keeps every layer's
earlier outputs in caches and computes, for each new pixel, only the few new
states that pixel needs. :func:`stepper_states` drives a model's own cached stepper
(``make_stepper``) over a given image up to a chosen dimension and compares every
tensor the stepper holds (its caches, as plain attributes) just before and just
after the step that generates that dimension:

- **kept**: entries holding a state (non-zero anywhere in the batch or channels)
  before the step — what the caches remember;
- **computed now**: entries the step wrote (changed) — the new states for this pixel.

Each cache is shown in its own layout: a (n, C, A, B) tensor as an A×B grid (padded
input caches include their zero border), a (n, C, W) row as 1×W, a (n, C) state as
one cell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class StateMap:
    name: str  # attribute path in the stepper, e.g. "h_in[2]"
    shape: tuple  # the tensor's shape
    kept: np.ndarray  # (A, B) bool: holds a state before the step
    computed: np.ndarray  # (A, B) bool: written by the step

    @property
    def grid(self) -> tuple[int, int]:
        return self.kept.shape


def stepper_tensors(stepper) -> dict[str, torch.Tensor]:
    """Every tensor a stepper holds as an attribute (or in a list/tuple attribute),
    by attribute path; the model and the masked weights are not state."""
    out = {}
    for name, value in vars(stepper).items():
        if name in ("model", "weights", "cond", "like"):  # the model, masked weights, inputs
            continue
        if torch.is_tensor(value):
            out[name] = value
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                if torch.is_tensor(v):
                    out[f"{name}[{i}]"] = v
                elif isinstance(v, (list, tuple)):
                    for j, w in enumerate(v):
                        if torch.is_tensor(w):
                            out[f"{name}[{i}][{j}]"] = w
    return out


def _as_grid(t: torch.Tensor) -> np.ndarray:
    """A state tensor -> (A, B) bool of 'holds something', reduced over batch and channels."""
    nz = (t.detach().float() != 0).cpu()
    if nz.dim() >= 4:
        return nz.flatten(0, nz.dim() - 3).any(0).numpy()
    if nz.dim() == 3:
        return nz.any(0).any(0).numpy()[None, :]
    if nz.dim() == 2:
        return nz.any().reshape(1, 1).numpy()
    return nz.reshape(1, -1).any(1, keepdim=True).numpy()


def _changed(before: torch.Tensor, after: torch.Tensor) -> np.ndarray:
    if before.shape != after.shape:
        return np.ones(_as_grid(after).shape, bool)
    return _as_grid((after.detach().float() - before.detach().float()).abs() > 0)


@torch.no_grad()
def stepper_states(model, image, index: int, **cond) -> list[StateMap]:
    """Teacher-force ``model``'s cached stepper on ``image`` (*shape) up to flattened
    dimension ``index`` (in the model's order) and return each cache's kept and
    freshly computed entries for that dimension."""
    if not model.has_cached_stepper:
        raise ValueError(f"{model.registry_name} has no cached stepper: the naive path keeps no states")
    was_training = model.training
    model.eval()
    try:
        dtype = torch.long if model.spec.discrete else torch.float32
        x = torch.as_tensor(np.asarray(image), device=model.device).to(dtype)[None].clone()  # (1, *shape)
        stepper = model.make_stepper(x, **cond)
        order = model.order.tolist()
        if index not in order:
            raise ValueError(f"dimension {index} is outside the model's {len(order)} dimensions")
        stop = order.index(index)
        for i in order[:stop]:
            stepper.conditional(i, x)
        before = {k: v.clone() for k, v in stepper_tensors(stepper).items()}
        stepper.conditional(index, x)
        after = stepper_tensors(stepper)
    finally:
        model.train(was_training)
    maps = []
    for name, t in after.items():
        if t.dim() < 2:
            continue
        old = before.get(name)
        kept = _as_grid(old) if old is not None and old.shape == t.shape else np.zeros(_as_grid(t).shape, bool)
        computed = _changed(old, t) if old is not None else _as_grid(t)
        maps.append(StateMap(name, tuple(t.shape), kept, computed))
    return maps
