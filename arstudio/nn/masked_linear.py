"""Masked fully connected layers for MADE-style autoregressive networks.

Germain, Gregor, Murray, Larochelle, "MADE: Masked Autoencoder for
Distribution Estimation", ICML 2015. Every unit carries a *degree*; a
connection is kept only where the mask has a 1. Inputs get degrees 1..D
(their position in the ordering), hidden units a degree in 1..D-1:

    hidden <- input  (kept when deg(in) <= deg(h))    output <- hidden  (kept when deg(h) < deg(out))

              x1 x2 x3    (degrees 1 2 3)                     h1 h2 h3 h4
       h1(1)   1  0  0                                 o1(1)   0  0  0  0   <- bias only
       h2(2)   1  1  0                                 o2(2)   1  0  1  0
       h3(1)   1  0  0                                 o3(3)   1  1  1  1
       h4(2)   1  1  0

Chaining the two, output d only ever reaches inputs of degree < d: the
autoregressive property, in one pass. A layer can hold several masks
(``num_masks``) for connectivity-agnostic training; ``forward`` picks one.
Masks are buffers multiplied in at ``forward`` time, never baked into the
stored weights, so switching masks is free and the weights stay intact. They
are stored as bool (small checkpoints) and multiplied as a float copy of the
mask in use, made once and remade only when the masks change: a float × bool
product is several times slower on a CPU than float × float.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by one of ``num_masks`` 0/1 masks."""

    def __init__(self, in_features: int, out_features: int, num_masks: int = 1, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        # all-ones until set_mask is called; bool keeps checkpoints small
        self.register_buffer("masks", torch.ones(num_masks, out_features, in_features, dtype=torch.bool))

        self._float_masks: dict = {}  # mask index -> (key, float mask); see float_mask

    @property
    def num_masks(self) -> int:
        return self.masks.shape[0]

    def set_mask(self, index: int, mask: torch.Tensor) -> None:
        """Install ``mask`` (out_features, in_features) as mask number ``index``."""
        self.masks[index].copy_(mask.to(self.masks.device).bool())

    def float_mask(self, index: int = 0) -> torch.Tensor:
        """Mask ``index`` in the weight's dtype and device, remade when the masks change
        (``set_mask``, loading a checkpoint, ``.to``)."""
        key = (self.masks.data_ptr(), self.masks._version, self.weight.dtype)
        cached = self._float_masks.get(index)
        if cached is None or cached[0] != key:
            cached = (key, self.masks[index].to(self.weight.dtype))
            self._float_masks[index] = cached
        return cached[1]

    def masked_weight(self, index: int = 0) -> torch.Tensor:
        """The weight with mask ``index`` applied (out_features, in_features)."""
        return self.weight * self.float_mask(index)

    def forward(self, x: torch.Tensor, mask_index: int = 0) -> torch.Tensor:
        return F.linear(x, self.masked_weight(mask_index), self.bias)

    def free_parameters(self) -> int:
        """Weights some mask uses, plus the bias: masked-out weights are constants."""
        used = int(self.masks.any(0).sum())
        return used + (self.bias.numel() if self.bias is not None else 0)


def degree_mask(in_degrees: torch.Tensor, out_degrees: torch.Tensor, strict: bool) -> torch.Tensor:
    """(out, in) mask: keep in->out when deg(out) > deg(in) (strict) or >= (not strict)."""
    out_d, in_d = out_degrees[:, None], in_degrees[None, :]
    return out_d > in_d if strict else out_d >= in_d


def hidden_degrees(num_units: int, num_dims: int, lowest: int,
                   generator: torch.Generator | None) -> torch.Tensor:
    """Random degrees in lowest..D-1 for a hidden layer (MADE's labelling).

    Starting at the previous layer's lowest degree means no unit is left with
    nothing to see; with D = 1 every hidden unit is useless but harmless."""
    top = max(num_dims - 1, lowest)
    return torch.randint(lowest, top + 1, (num_units,), generator=generator)


def free_parameters(module: nn.Module) -> int:
    """Trainable parameters that are not masked out by a :class:`MaskedLinear`."""
    masked = {id(m.weight) for m in module.modules() if isinstance(m, MaskedLinear)}
    total = sum(m.free_parameters() - (m.bias.numel() if m.bias is not None else 0)
                for m in module.modules() if isinstance(m, MaskedLinear))
    return total + sum(p.numel() for p in module.parameters()
                       if p.requires_grad and id(p) not in masked)
