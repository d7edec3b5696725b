"""Conv1D ARM: a stack of causal 1-D convolutions with a softmax per step.

The convolutional autoregressive model of the deep-AR literature (e.g.
Tomczak, "Deep Generative Modeling", Springer 2022, chapter 2; the causal
convolutions are those of van den Oord et al., "WaveNet: A Generative Model
for Raw Audio", arXiv 2016). The first layer is a type-A causal convolution
(it cannot see x_t), later ones are type B; LeakyReLU between them and a
1×1 convolution to K logits at the end. Dilation grows by ``dilation_growth``
per layer (1 keeps every layer undilated).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import SEQUENCE_MODELS, register_model
from arstudio.models.steppers import SequenceStepper
from arstudio.nn import CausalConv1d


@register_model(
    "causal-conv-arm",
    family=SEQUENCE_MODELS,
    paper="Tomczak, Deep Generative Modeling, Springer 2022 (ch. 2, ARMs with causal convolutions)",
    summary=("Causal 1-D convolutions: the first (type A) hides the current value, the "
             "rest (type B) keep the past-only view; LeakyReLU and a softmax over the "
             "levels. Every conditional comes out of one parallel pass; sampling keeps "
             "a queue of past activations per layer."),
    factorisation="p(x) = prod_t p(x_t | x_<t), left to right, limited to the receptive field",
    presets={"tiny": {"channels": 8, "layers": 2, "kernel": 2},
             "quick demo": {"channels": 64, "layers": 5, "kernel": 3, "dilation_growth": 2},
             "quality": {"channels": 128, "layers": 8, "kernel": 3, "dilation_growth": 2}},
)
class CausalConvARM(ARModel):
    any_length = True  # queues / state / last p values: no end to generation
    @dataclass(frozen=True)
    class Config:
        channels: int = 64  # feature maps of every hidden layer
        layers: int = 4  # causal convolutions (1 type A + layers-1 type B)
        kernel: int = 3  # taps per convolution
        dilation_growth: int = 2  # dilation of layer l is growth**l (1 = undilated)
        negative_slope: float = 0.01  # LeakyReLU slope

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        K, c = spec.levels, config.channels
        self.convs = nn.ModuleList()
        for layer in range(config.layers):
            self.convs.append(CausalConv1d(K if layer == 0 else c, c, config.kernel,
                                           "A" if layer == 0 else "B",
                                           dilation=config.dilation_growth ** layer))
        self.head = nn.Conv1d(c, K, 1)

    @property
    def receptive_field(self) -> int:
        return sum(conv.history for conv in self.convs)

    def _one_hot(self, x):  # (B, T) -> (B, K, T)
        return F.one_hot(x.long(), self.spec.levels).float().transpose(1, 2)

    def logits(self, one_hot):
        """(B, K, T) one-hot (or soft input, for autograd probes) -> (B, T, K) logits."""
        h = one_hot
        for conv in self.convs:
            h = F.leaky_relu(conv(h), self.config.negative_slope)  # (B, C, T)
        return self.head(h).transpose(1, 2)

    def conditionals(self, x, **cond):
        return Categorical(self.logits(self.input_hook(self._one_hot(x), feature_axis=1)))  # (B, T, K)

    def make_stepper(self, x, **cond):
        return _ConvARMStepper(self, x.shape[0], x.device)


class _ConvARMStepper(SequenceStepper):
    """One queue per layer; position t costs one tap-sum per layer."""

    def __init__(self, model: CausalConvARM, n: int, device):
        super().__init__(model)
        self.queues = [conv.make_queue(n, device) for conv in model.convs]
        self.zeros = torch.zeros(n, model.spec.levels, device=device)

    def advance(self, t, flat):
        m = self.model
        # type A layer: feed x_{t-1} (zeros before the start)
        h = self.zeros if t == 0 else F.one_hot(flat[:, t - 1].long(), m.spec.levels).float()
        for conv, queue in zip(m.convs, self.queues):
            h = F.leaky_relu(conv.step(queue, h), m.config.negative_slope)  # (n, C)
        return h

    def head(self, h, index):
        m = self.model
        return Categorical(F.conv1d(h.unsqueeze(-1), m.head.weight, m.head.bias).squeeze(-1))  # (n, K)
