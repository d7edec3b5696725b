"""NADE's shared hidden layer and its O(nd) running sum.

Larochelle & Murray, "The Neural Autoregressive Distribution Estimator",
AISTATS 2011. Every conditional uses the same W (H × D) and c (H):

    a_1 = c,    a_{i+1} = a_i + W[:, i] x_i,    h_i = act(a_i)

so a_i = c + W[:, <i] x_<i. Training computes all D pre-activations in one
vectorised pass: the per-dimension contributions W[:, i] x_i are stacked
along a D axis and an *exclusive* cumulative sum gives every a_i at once —
no Python loop over dimensions. Generation uses the recurrence directly
(:class:`RunningSum`), one rank-1 update per generated dimension.

On a CPU the vectorised pass is memory-bound: it writes and reads several
(B, D, H) tensors (for MNIST at batch 64, 100 MB each). :func:`nade_logits`
there takes blocks of T dimensions instead (:class:`ChunkedReadout`), carrying
a_s from block to block, so every tensor it touches is (B, T, H) and stays in
cache; backward walks the blocks in reverse and recomputes them. On a GPU the
one-pass form wins (launches, not bytes, are its cost) and stays.

With F features per dimension (one-hot K-level data) W is (H, D, F) and
"W[:, i] x_i" is the (H, F) block times the F features of dimension i.
"""
from __future__ import annotations

import math
from functools import lru_cache

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


CHUNK = 16  # dimensions per block on a CPU (8, 16 and 28 measured; 16 fastest, 56+ slower)


@lru_cache(maxsize=32)
def _lower(T: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(T+1, 1, T) 0/1: row t sums block dimensions < t; row T sums them all."""
    return torch.ones(T + 1, T, dtype=dtype, device=device).tril_(-1).unsqueeze(1)


def _block(u: torch.Tensor) -> torch.Tensor:
    """(T, B, F) block features -> ((T+1)·B, T·F): row (t, b) holds u_{<t} of example b."""
    T, B, Fe = u.shape
    lower = _lower(T, u.dtype, u.device).repeat_interleave(Fe, -1)  # (T+1, 1, T·F)
    return (lower * u.permute(1, 0, 2).reshape(1, B, T * Fe)).reshape((T + 1) * B, T * Fe)


class ChunkedReadout(torch.autograd.Function):
    """NADE's sigmoid hidden layer and linear read-out, by blocks of T dimensions.

    Everything is dimension-major, (T, B, ·). For the block starting at s, with the
    running sum a_s (B, H) carried in, one GEMM gives every pre-activation of the block::

        P[t, b] = a_s[b] + sum_{t' < t} u_{t', b} W_{t'}     ((T+1)·B, T·F) @ (T·F, H)
        rows t = 0..T-1 are a_s .. a_{s+T-1}; row T is a_{s+T}, carried to the next block
        logits_t = sigmoid(P_t) . V_t + b_t                 (T, B, O), one bmm

    Backward walks the blocks in reverse with the gradient of the running sum carried
    the other way; the weight gradient of a block is one GEMM over its (T+1)·B rows.
    The sigmoid outputs are kept, (D, B, H), as a per-dimension loop keeps them; nothing
    else of that size is made, and each block's work stays in cache.
    """

    @staticmethod
    def forward(ctx, u, Wt, c, V, b, chunk):
        # u (D, B, F) features, Wt (D·F, H), c (H,), V (D, H, O), b (D, O)
        D, B, Fe = u.shape
        H = Wt.shape[-1]
        a = c.expand(B, H)  # (B, H): a_1 = c
        out = u.new_empty(D, B, V.shape[-1])
        h = u.new_empty(D, B, H)
        for s in range(0, D, chunk):
            e = min(s + chunk, D)
            P = torch.mm(_block(u[s:e]), Wt[s * Fe:e * Fe]).view(-1, B, H).add_(a)  # (T+1, B, H)
            torch.sigmoid(P[:-1], out=h[s:e])  # (T, B, H)
            torch.baddbmm(b[s:e].unsqueeze(1), h[s:e], V[s:e], out=out[s:e])  # (T, B, O)
            a = P[-1]
        ctx.chunk = chunk
        ctx.save_for_backward(u, Wt, V, h)
        return out

    @staticmethod
    def backward(ctx, g):
        u, Wt, V, h = ctx.saved_tensors
        chunk, (D, B, Fe), H = ctx.chunk, u.shape, Wt.shape[-1]
        g = g.contiguous()
        dWt, dV = torch.empty_like(Wt), torch.empty_like(V)
        du = torch.empty_like(u) if ctx.needs_input_grad[0] else None
        R = u.new_zeros(B, H)  # gradient reaching the carry out of this block
        for s in reversed(range(0, D, chunk)):
            e = min(s + chunk, D)
            hb, gb = h[s:e], g[s:e]  # (T, B, H), (T, B, O)
            torch.bmm(hb.transpose(1, 2), gb, out=dV[s:e])  # (T, H, O)
            dP = u.new_empty(e - s + 1, B, H)
            torch.bmm(gb, V[s:e].transpose(1, 2), out=dP[:-1])  # dL/dh
            torch.ops.aten.sigmoid_backward.grad_input(dP[:-1], hb, grad_input=dP[:-1])  # dL/da
            dP[-1] = R
            M, dP2 = _block(u[s:e]), dP.view(-1, H)  # ((T+1)·B, T·F), ((T+1)·B, H)
            torch.mm(M.t(), dP2, out=dWt[s * Fe:e * Fe])  # (T·F, H)
            if du is not None:
                dM = torch.mm(dP2, Wt[s * Fe:e * Fe].t()).view(e - s + 1, B, e - s, Fe)
                lower = _lower(e - s, u.dtype, u.device).unsqueeze(-1)  # (T+1, 1, T, 1)
                du[s:e] = (dM * lower).sum(0).permute(1, 0, 2)
            R = dP.sum(0)  # the carry in reaches every row of P
        return du, dWt, R.sum(0), dV, g.sum(1), None


def nade_logits(hidden: NADEHidden, u: torch.Tensor, V: torch.Tensor, b: torch.Tensor,
                chunk: int | None = None) -> torch.Tensor:
    """(B, D, F) features -> (B, D, O) logits sigmoid(a_i) . V_i + b_i of every dimension.

    Blocks with carried state on a CPU (``chunk`` dimensions each, default :data:`CHUNK`),
    the one-pass vectorised form elsewhere (or with ``chunk=0``)."""
    if chunk is None:
        chunk = CHUNK if u.device.type == "cpu" else 0
    if not chunk:
        h = torch.sigmoid(hidden.preactivations(u))  # (B, D, H)
        return torch.einsum("bdh,dho->bdo", h, V) + b
    Wt = hidden.W.permute(1, 2, 0).reshape(-1, hidden.W.shape[0])  # (D·F, H)
    out = ChunkedReadout.apply(u.transpose(0, 1).contiguous(), Wt, hidden.c, V, b, chunk)  # (D, B, O)
    return out.transpose(0, 1)


class RunningSum:
    """a_{i+1} = a_i + W[:, i] x_i, advanced one dimension at a time (for sampling)."""

    def __init__(self, hidden: NADEHidden, n: int):
        self.hidden = hidden
        self.a = hidden.c.detach().expand(n, -1).clone()  # (n, H): a_1 = c

    def add(self, j: int, u_j: torch.Tensor) -> torch.Tensor:
        """Sum in dimension j with features u_j (n, F); returns the new a (n, H)."""
        self.a += u_j @ self.hidden.W[:, j].detach().t()  # rank-F update (n, H)
        return self.a
