"""WaveNet: dilated causal convolutions with gated units, residual and skip paths.

van den Oord, Dieleman, Zen, Simonyan, Vinyals, Graves, Kalchbrenner, Senior,
Kavukcuoglu, "WaveNet: A Generative Model for Raw Audio", arXiv 2016.
Fast generation with per-layer queues follows Paine et al., "Fast Wavenet
Generation Algorithm", arXiv 2016.

Input: one-hot levels (256 mu-law levels for audio) into a type-A causal
convolution, then ``stacks`` × ``layers_per_stack`` residual layers whose
dilations double (1, 2, 4, ...) within a stack. Each layer computes
``tanh(W_f * h + V_f c) ⊙ sigmoid(W_g * h + V_g c)`` where ``c`` is the
optional conditioning: a global label embedding (``label=`` ids, e.g. a pitch
or speaker) and/or a local series (``local=`` (B, local_channels, T_local))
upsampled to the sample rate by a transposed convolution. Skip outputs of all
layers are summed, then ReLU-1×1-ReLU-1×1 gives K logits per step.

Conditioning is optional at call time: without ``label=`` the model uses a
learned "no label" embedding, without ``local=`` zeros, so the plain protocol
(trainer, contract tests) still works on a conditioned model.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import SEQUENCE_MODELS, register_model
from arstudio.nn import CausalConv1d, gated_tanh


class GatedResidualLayer(nn.Module):
    """One dilated layer: (B, R, T) -> residual (B, R, T), skip (B, S, T)."""

    def __init__(self, residual, dilation_channels, skip, kernel, dilation):
        super().__init__()
        self.conv = CausalConv1d(residual, 2 * dilation_channels, kernel, "B", dilation)
        self.to_residual = nn.Conv1d(dilation_channels, residual, 1)
        self.to_skip = nn.Conv1d(dilation_channels, skip, 1)

    def gate(self, pre):  # (B, 2D, ...) -> (B, D, ...): tanh(filter) ⊙ σ(gate)
        return gated_tanh(pre)

    def forward(self, h, cond_bias):  # cond_bias: (B, 2D, T) or (B, 2D, 1)
        z = self.gate(self.conv(h) + cond_bias)  # (B, D, T)
        return h + self.to_residual(z), self.to_skip(z)


@register_model(
    "wavenet",
    family=SEQUENCE_MODELS,
    modalities=("sequence",),
    paper="van den Oord et al., WaveNet: A Generative Model for Raw Audio, arXiv 2016",
    summary=("Dilated causal convolutions (dilations 1, 2, 4, ... per stack) with gated "
             "tanh·sigmoid units, residual and skip connections and a 256-way mu-law "
             "softmax. Optional global (label) and local (slow series) conditioning. "
             "Generation keeps a queue per layer (Fast WaveNet): O(layers) per sample."),
    factorisation="p(x) = prod_t p(x_t | x_{t-R..t-1}, label, local), R = receptive field",
    presets={"tiny": {"residual_channels": 16, "dilation_channels": 16, "skip_channels": 32,
                      "layers_per_stack": 2, "stacks": 1, "num_labels": 3},
             # the bundled model's size: trains on a CPU in minutes, 2 stacks of
             # dilations 1..16 see 64 past samples (> one period of every tone)
             "fast": {"residual_channels": 24, "dilation_channels": 24, "skip_channels": 48,
                      "layers_per_stack": 5, "stacks": 2},
             "quick demo": {"residual_channels": 32, "dilation_channels": 32,
                            "skip_channels": 64, "layers_per_stack": 8, "stacks": 2},
             "quality": {"residual_channels": 64, "dilation_channels": 64,
                         "skip_channels": 128, "layers_per_stack": 10, "stacks": 3}},
)
class WaveNet(ARModel):
    any_length = True  # queues / state / last p values: no end to generation
    @dataclass(frozen=True)
    class Config:
        residual_channels: int = 32  # width of the residual stream
        dilation_channels: int = 32  # width of each gated unit
        skip_channels: int = 64  # width of the summed skip path
        kernel: int = 2  # taps of each dilated convolution (2 in the paper)
        layers_per_stack: int = 8  # dilations 1, 2, ..., 2**(layers-1)
        stacks: int = 2  # repeats of the dilation cycle
        num_labels: int = 0  # global conditioning classes (0 = none)
        local_channels: int = 0  # channels of the local conditioning series (0 = none)
        local_hop: int = 64  # samples per local-series step (transposed-conv stride)

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        c, K = config, spec.levels
        self.input = CausalConv1d(K, c.residual_channels, c.kernel, "A")
        self.layers = nn.ModuleList(
            GatedResidualLayer(c.residual_channels, c.dilation_channels, c.skip_channels,
                               c.kernel, 2 ** i)
            for _ in range(c.stacks) for i in range(c.layers_per_stack))
        gates = 2 * c.dilation_channels * len(self.layers)  # every layer's V c, in one go
        # index num_labels is the learned "no label given" embedding
        self.label_embedding = nn.Embedding(c.num_labels + 1, gates) if c.num_labels else None
        if c.local_channels:
            self.upsample = nn.ConvTranspose1d(c.local_channels, c.local_channels,
                                               c.local_hop, stride=c.local_hop)
            with torch.no_grad():  # starts as "hold each frame for its hop" (learned on from there)
                self.upsample.weight.zero_()
                self.upsample.weight[range(c.local_channels), range(c.local_channels)] = 1.0
                self.upsample.bias.zero_()
            self.local_proj = nn.Conv1d(c.local_channels, gates, 1)  # every layer's gate bias
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(c.skip_channels, c.skip_channels, 1),
                                  nn.ReLU(), nn.Conv1d(c.skip_channels, K, 1))

    @property
    def num_labels(self) -> int:
        return self.config.num_labels

    @property
    def uses_local(self) -> bool:
        """The trainer passes the data's local series as ``local=`` (local_channels > 0)."""
        return self.config.local_channels > 0

    @property
    def no_label(self) -> int | None:
        """The label id meaning "no label given" (trained by the trainer's label_dropout)."""
        return self.config.num_labels if self.config.num_labels else None

    @property
    def receptive_field(self) -> int:
        """Past samples one prediction can depend on: x_{t-R} .. x_{t-1}."""
        return self.input.history + sum(layer.conv.history for layer in self.layers)

    def dilation_stack(self) -> list:
        """The input convolution and every layer's dilated one, bottom to top."""
        return [self.input] + [layer.conv for layer in self.layers]

    def conditioning(self, n, T, label=None, local=None, device=None):
        """Per-layer gate biases: (n, layers, 2D, T) or (n, layers, 2D, 1) or None."""
        c, bias = self.config, None
        if self.label_embedding is not None:
            if label is None:
                label = torch.full((n,), c.num_labels, dtype=torch.long, device=device)
            label = torch.as_tensor(label, device=device).long().expand(n)
            bias = self.label_embedding(label).view(n, len(self.layers), -1, 1)
        elif label is not None:
            raise ValueError("this WaveNet has no global conditioning (num_labels=0)")
        if c.local_channels and local is not None:
            local = torch.as_tensor(local, device=device).float().expand(n, -1, -1)
            up = self.upsample(local)  # (n, Lc, T_local * hop)
            if up.shape[-1] < T:
                raise ValueError(f"local series covers {up.shape[-1]} samples, need {T}")
            loc = self.local_proj(up[..., :T]).view(n, len(self.layers), -1, T)
            bias = loc if bias is None else bias + loc
        elif local is not None:
            raise ValueError("this WaveNet has no local conditioning (local_channels=0)")
        return bias

    def logits(self, one_hot, label=None, local=None):
        """(B, K, T) one-hot (or any soft input, for autograd probes) -> (B, T, K) logits."""
        B, _, T = one_hot.shape
        h = self.input(one_hot)  # (B, R, T)
        bias = self.conditioning(B, T, label, local, one_hot.device)
        skips = 0
        for i, layer in enumerate(self.layers):
            h, s = layer(h, 0 if bias is None else bias[:, i])
            skips = skips + s  # (B, S, T)
        return self.head(skips).transpose(1, 2)

    def conditionals(self, x, label=None, local=None, **cond):
        one_hot = F.one_hot(x.long(), self.spec.levels).float().transpose(1, 2)  # (B, K, T)
        return Categorical(self.logits(self.input_hook(one_hot, feature_axis=1), label, local))

    def make_stepper(self, x, label=None, local=None, **cond):
        """The one fast path (arstudio/models/_wavenet_fast.py): Fast WaveNet queues in a
        fused per-sample step (numba on a CPU, NumPy without it, PyTorch on a GPU)."""
        from arstudio.models._wavenet_fast import WaveNetStepper

        return WaveNetStepper(self, x, label, local)
