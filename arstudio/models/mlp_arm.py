"""A finite-memory ARM: one shared MLP that sees only the last k dimensions.

Tomczak, "Deep Generative Modeling", Springer 2022, ch. 2 ("Finite memory"):
assume p(x_d | x_<d) = p(x_d | x_{d-k}, ..., x_{d-1}) and let a single MLP,
shared by all positions, map that window to the conditional:

    window_d = [x_{d-k}, ..., x_{d-1}]     (zero-padded before the start)
    p(x_d | window_d) = softmax(Linear(M, K)(relu(Linear(k·F, M)(window_d))))

Few weights and every conditional in one batched pass, but nothing further
back than k steps can ever matter — for an image flattened in raster order
k < W means the pixel above is out of reach, which the receptive-field view
makes plain. Binary entries are fed as ±1 and K-level ones one-hot, so the
zero padding is distinguishable from data.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.models._vector import (
    categorical_head,
    categorical_one,
    encode,
    encode_input,
    input_features,
    output_logits,
)
from arstudio.models.base import ARModel
from arstudio.models.registry import VECTOR_MODELS, register_model
from arstudio.models.steppers import Stepper


@register_model(
    "mlp-arm",
    family=VECTOR_MODELS,
    paper="Tomczak, Deep Generative Modeling, Springer 2022 (ch. 2, ARMs with finite memory)",
    summary=("One small MLP shared by all positions, fed only the previous k values: few "
             "weights and a parallel training pass, but a memory of exactly k steps."),
    factorisation="p(x) = prod_d p(x_d | x_{d-k}, ..., x_{d-1}), raster order",
    presets={"tiny": {"memory": 4, "hidden": 64}, "quick demo": {"memory": 8, "hidden": 128},
             "quality": {"memory": 32, "hidden": 512}},
)
class MLPARM(ARModel):
    @dataclass(frozen=True)
    class Config:
        memory: int = 8  # k, how many previous dimensions the MLP sees
        hidden: int = 256  # M, width of the MLP's hidden layer

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        if config.memory < 1:
            raise ValueError("memory must be at least 1")
        self.fin, self.out = input_features(spec), output_logits(spec)
        self.mlp = nn.Sequential(nn.Linear(config.memory * self.fin, config.hidden), nn.ReLU(),
                                 nn.Linear(config.hidden, self.out))

    def conditionals(self, x, **cond):
        B, D, k = x.shape[0], self.num_dims, self.config.memory
        u = F.pad(encode_input(self, x), (0, 0, k, 0))  # (B, k + D, F): k zero steps in front
        windows = u.unfold(1, k, 1)[:, :D]  # (B, D, F, k): window d holds dims d-k .. d-1
        windows = windows.transpose(2, 3).reshape(B, D, k * self.fin)  # oldest first
        return categorical_head(self.mlp(windows), self.spec)  # (B, *shape, K)

    def make_stepper(self, x, **cond):
        return _WindowStepper(self)


class _WindowStepper(Stepper):
    """O(k) per step: encode just the window before the requested dimension."""

    def __init__(self, model: MLPARM):
        super().__init__(model)

    def conditional(self, index: int, x: torch.Tensor):
        m, k = self.model, self.model.config.memory
        n = x.shape[0]
        flat = x.reshape(n, -1)
        lo = max(0, index - k)
        u = encode(flat[:, lo:index], m.spec) if index > lo else flat.new_zeros(n, 0, m.fin).float()
        u = F.pad(u, (0, 0, k - (index - lo), 0))  # (n, k, F), zero-padded at the start
        return categorical_one(m.mlp(u.reshape(n, 1, k * m.fin)), m.spec)  # logits (n, 1, O)
