"""MADE-style mask connectivity: which inputs can reach which outputs, per layer.

A masked-linear network (MADE, FVSBN, MASDE) multiplies every weight matrix
by a 0/1 mask. Output o can depend on input j only if some path of kept
connections joins them, so the boolean product of the masks along the chain
(plus any direct input->output layer) is the model's *reachability*:

    R = M_L · ... · M_2 · M_1   (> 0),     R_dims[i, j] = any feature of i reaches any of j

For an autoregressive model R_dims is strictly lower-triangular once rows and
columns are put in the model's order. ``autograd_dependence`` measures the
same thing on the real forward pass (the receptive-field probe of
:mod:`arstudio.inspect.receptive_field`), as an independent check.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arstudio.inspect.receptive_field import input_gradient
from arstudio.nn.masked_linear import MaskedLinear


@dataclass
class Connectivity:
    names: list[str]  # one per mask, in forward order
    masks: list[np.ndarray]  # (out_features, in_features) bool
    reach_features: np.ndarray  # (D*out, D*in) bool: output feature <- input feature
    reach: np.ndarray  # (D, D) bool: output dim i <- input dim j
    order: np.ndarray  # (D,) the model's generation order


def masked_layers(model) -> list[tuple[str, MaskedLinear]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, MaskedLinear)]


def has_masks(model) -> bool:
    return bool(masked_layers(model))


def _active_mask(model, layer: MaskedLinear) -> np.ndarray:
    m = model.active  # MADE: the mask its sampling and conditionals use
    return layer.masks[m if m < layer.num_masks else 0].cpu().numpy().astype(bool)


def mask_connectivity(model) -> Connectivity:
    """Masks of every masked layer and the input->output reachability they allow."""
    layers = masked_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no masked linear layers")
    D = model.spec.num_dims
    fin, fout = layers[0][1].in_features // D, layers[-1][1].out_features // D
    # the chain from inputs to outputs is the `layers` list where a model has one (MADE,
    # MASDE); any other masked layer is an input->output shortcut (MASDE's `direct`)
    chain = [(n, l) for n, l in layers if n.startswith("layers.")] or layers[:1]
    direct = [(n, l) for n, l in layers if (n, l) not in chain]
    reach = np.eye(D * fin, dtype=np.int64)
    for _, layer in chain:
        reach = (_active_mask(model, layer).astype(np.int64) @ reach > 0).astype(np.int64)
    reach = reach > 0
    for _, layer in direct:
        reach |= _active_mask(model, layer)
    dims = reach.reshape(D, fout, D, fin).any(axis=(1, 3))
    ordered = chain + direct
    return Connectivity([n for n, _ in ordered], [_active_mask(model, l) for _, l in ordered],
                        reach, dims, np.asarray(model.order))


def autograd_dependence(model, x: torch.Tensor, **cond) -> np.ndarray:
    """(D, D) bool: d log p(x_i | x_<i) / d (encoded input of dim j) != 0, on the real model.

    ``x`` is one example (*shape) or a batch (B, *shape); a batch ORs the
    examples (a ReLU unit that is off for one input hides its path there)."""
    D = model.spec.num_dims
    batch = x.reshape(-1, *model.spec.shape)
    out = np.zeros((D, D), dtype=bool)
    for i in range(D):
        out[i] = (input_gradient(model, batch, i, **cond).sum(0) > 0).numpy()
    return out
