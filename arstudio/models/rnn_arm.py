"""RNN ARM: an LSTM or GRU reads x_<t and predicts x_t.

p(x_t | x_<t) = softmax(W h_t), h_t = RNN(embed(x_{t-1}), h_{t-1}), with a
learned start token in place of x_{-1}. LSTM: Hochreiter & Schmidhuber,
"Long Short-Term Memory", Neural Computation 1997; character-level
generation as in Graves, "Generating Sequences With Recurrent Neural
Networks", arXiv 2013. Sampling carries the hidden state from step to step,
so a sequence of length T costs T cell updates, never a recomputation.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from arstudio.distributions import Categorical
from arstudio.models.base import ARModel
from arstudio.models.registry import SEQUENCE_MODELS, register_model
from arstudio.models.steppers import SequenceStepper


@register_model(
    "rnn-arm",
    family=SEQUENCE_MODELS,
    paper="Graves, Generating Sequences With Recurrent Neural Networks, arXiv 2013",
    summary=("An LSTM (or GRU) reads the sequence left to right; its hidden state "
             "summarises the whole past, so the context is unbounded. Training is one "
             "pass of the recurrence; sampling keeps the hidden state between steps."),
    factorisation="p(x) = prod_t p(x_t | RNN(x_{t-1}, h_{t-1}))",
    presets={"tiny": {"hidden": 32, "embedding": 16, "layers": 1},
             "quick demo": {"hidden": 128, "embedding": 32, "layers": 1},
             "quality": {"hidden": 512, "embedding": 64, "layers": 2}},
)
class RNNARM(ARModel):
    any_length = True  # queues / state / last p values: no end to generation
    @dataclass(frozen=True)
    class Config:
        cell: str = "lstm"  # "lstm" or "gru"
        hidden: int = 128  # hidden units per layer
        embedding: int = 32  # size of the input embedding of a level
        layers: int = 1  # stacked recurrent layers
        dropout: float = 0.0  # between stacked layers (training only)

    def __init__(self, spec, config: Config):
        super().__init__(spec, config)
        if config.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {config.cell!r}")
        K = spec.levels
        self.embed = nn.Embedding(K + 1, config.embedding)  # index K = start token
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(config.embedding, config.hidden, config.layers, batch_first=True,
                       dropout=config.dropout if config.layers > 1 else 0.0)
        self.out = nn.Linear(config.hidden, K)

    def shifted_inputs(self, x):  # (B, T) -> (B, T): start token, x_0 .. x_{T-2}
        start = torch.full_like(x[:, :1], self.spec.levels)
        return torch.cat([start, x[:, :-1]], dim=1).long()

    def conditionals(self, x, **cond):
        # position t embeds x_{t-1} (a start token at 0): shift 1 for the input hook
        h, _ = self.rnn(self.input_hook(self.embed(self.shifted_inputs(x)), feature_axis=-1, shift=1))
        return Categorical(self.out(h))  # (B, T, K)

    def make_stepper(self, x, **cond):
        return _RNNStepper(self)


class _RNNStepper(SequenceStepper):
    """Keeps the recurrent state; position t feeds x_{t-1} once."""

    def __init__(self, model: RNNARM):
        super().__init__(model)
        self.state = None  # the RNN's (h, c) or h after the positions taken so far

    def advance(self, t, flat):
        m = self.model
        prev = torch.full_like(flat[:, 0], m.spec.levels) if t == 0 else flat[:, t - 1]
        h, self.state = m.rnn(m.embed(prev.long()).unsqueeze(1), self.state)  # (n, 1, H)
        return h[:, 0]

    def head(self, h, index):
        return Categorical(self.model.out(h))  # (n, K)
