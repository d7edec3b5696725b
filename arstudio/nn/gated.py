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


def _batched(t: torch.Tensor) -> bool:
    """A batched gradient (autograd.grad(..., is_grads_batched=True) runs the backward under
    vmap; the tensor looks unbatched from Python, only its dispatch keys say so)."""
    return "Batched" in str(torch._C._dispatch_keys(t))  # Batched or FuncTorchBatched


class _GatedTanh(torch.autograd.Function):
    """tanh(f) ⊙ σ(g) with a backward that writes both halves' gradients straight into
    one tensor: autograd's own graph (mul, tanh, sigmoid, chunk) allocates four
    gradients and concatenates two of them (a profile of Gated PixelCNN's training)."""

    @staticmethod
    def forward(ctx, pre, dim):
        f, g = pre.chunk(2, dim=dim)
        t, s = torch.tanh(f), torch.sigmoid(g)
        ctx.save_for_backward(t, s)
        ctx.dim = dim
        return t * s

    @staticmethod
    def backward(ctx, grad):
        t, s = ctx.saved_tensors
        if _batched(grad):
            # batched gradients (vmap, autograd.grad(is_grads_batched=True): the probes'
            # Jacobians) have no rule for out= ops: the same formula, allocating
            return torch.cat([grad * s * (1 - t * t), grad * t * s * (1 - s)], ctx.dim), None
        shape = list(t.shape)
        shape[ctx.dim] *= 2
        out = grad.new_empty(shape)
        gf, gg = out.chunk(2, dim=ctx.dim)
        torch.ops.aten.tanh_backward.grad_input(grad * s, t, grad_input=gf)  # ⊙ (1 - t²)
        torch.ops.aten.sigmoid_backward.grad_input(grad * t, s, grad_input=gg)  # ⊙ s (1 - s)
        return out, None


def gated_tanh(pre: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """tanh(first half) ⊙ σ(second half) along ``dim`` (the channel axis by default)."""
    if pre.requires_grad and torch.is_grad_enabled():
        return _GatedTanh.apply(pre, dim % pre.dim())
    f, g = pre.chunk(2, dim=dim)
    return torch.tanh(f) * torch.sigmoid(g)


def gated_linear(pre: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """first half ⊙ σ(second half) along ``dim``."""
    a, b = pre.chunk(2, dim=dim)
    return a * torch.sigmoid(b)
