"""NADE's shared hidden layer and its O(nd) running sum.

Larochelle & Murray, "The Neural Autoregressive Distribution Estimator",
AISTATS 2011. Every conditional uses the same W (H × D) and c (H):

    a_1 = c,    a_{i+1} = a_i + W[:, i] x_i,    h_i = act(a_i)

so a_i = c + W[:, <i] x_<i. Training computes all D pre-activations in one
vectorised pass: the per-dimension contributions W[:, i] x_i are stacked
along a D axis and an *exclusive* cumulative sum gives every a_i at once —
no Python loop over dimensions. Generation uses the recurrence directly
(:class:`RunningSum`), one rank-1 update per generated dimension.

With F features per dimension (one-hot K-level data) W is (H, D, F) and
"W[:, i] x_i" is the (H, F) block times the F features of dimension i.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class NADEHidden(nn.Module):
    def __init__(self, num_dims: int, features: int, hidden: int):
        super().__init__()
        self.W = nn.Parameter(torch.randn(hidden, num_dims, features) / math.sqrt(num_dims * features))
        self.c = nn.Parameter(torch.zeros(hidden))

    def preactivations(self, u: torch.Tensor) -> torch.Tensor:
        """(B, D, F) features -> (B, D, H) pre-activations a_i = c + sum_{j<i} W[:, j] u_j."""
        contrib = torch.einsum("bdf,hdf->bdh", u, self.W)  # (B, D, H): W[:, j] u_j for every j
        inclusive = contrib.cumsum(dim=1)  # (B, D, H): sum_{j<=i}
        return self.c + inclusive - contrib  # exclusive: sum_{j<i}

    def preactivations_loop(self, u: torch.Tensor) -> torch.Tensor:
        """Same result with the recurrence as a Python loop over D (the slow reference)."""
        a = self.c.expand(u.shape[0], -1)
        out = []
        for i in range(u.shape[1]):
            out.append(a)
            a = a + u[:, i] @ self.W[:, i].t()  # (B, H)
        return torch.stack(out, dim=1)


class RunningSum:
    """a_{i+1} = a_i + W[:, i] x_i, advanced one dimension at a time (for sampling)."""

    def __init__(self, hidden: NADEHidden, n: int):
        self.hidden = hidden
        self.a = hidden.c.detach().expand(n, -1).clone()  # (n, H): a_1 = c

    def add(self, j: int, u_j: torch.Tensor) -> torch.Tensor:
        """Sum in dimension j with features u_j (n, F); returns the new a (n, H)."""
        self.a += u_j @ self.hidden.W[:, j].detach().t()  # rank-F update (n, H)
        return self.a


class NADEStepper:
    """Cached sampler for NADE-style models in raster order.

    ``conditional(i, x)`` sums in the dimensions generated since the last
    call (completion may skip some), then asks ``head(a_i, i)`` for p(x_i | x_<i).
    """

    def __init__(self, hidden: NADEHidden, n: int, encode, head):
        self.sum, self.encode, self.head = RunningSum(hidden, n), encode, head
        self.next = 0  # dimensions < next are already in the running sum

    def conditional(self, index: int, x: torch.Tensor):
        flat = x.reshape(x.shape[0], -1)
        for j in range(self.next, index):
            self.sum.add(j, self.encode(flat[:, j:j + 1])[:, 0])  # (n, F)
        self.next = max(self.next, index)
        return self.head(self.sum.a, index)
