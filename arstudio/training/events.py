"""The events a training run emits, in the order they happen.

The trainer yields these; the run folder writes them to ``events.jsonl``
(``to_json``) and the window reads them back. Tensors and the live model stay
in-process and are never written to the log.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class TrainingError(Exception):
    """Training cannot go on (NaN loss, out of memory, bad data); the message says why."""


@dataclass
class Event:
    kind = "event"

    def to_json(self) -> dict:
        out = {"event": self.kind}
        for f in dataclasses.fields(self):
            if not f.metadata.get("in_process_only"):
                out[f.name] = getattr(self, f.name)
        return out


def _live(default=None):
    """A field that stays in the process (tensors, the model)."""
    return field(default=default, metadata={"in_process_only": True}, repr=False)


@dataclass
class Started(Event):
    kind = "started"
    model: str
    dataset: str
    parameters: int
    device: str
    num_dims: int
    total_steps: int
    start_step: int = 0  # > 0 when the run goes on from a resumable state


@dataclass
class Step(Event):
    kind = "step"
    step: int
    loss: float  # nats per example, this batch
    bpd: float  # bits per dimension, this batch
    lr: float
    examples_per_s: float
    elapsed: float  # seconds since start


@dataclass
class Eval(Event):
    kind = "eval"
    step: int
    split: str  # "val" or "test" ("val_ema", "test_ema": the weights' moving average)
    nats: float  # mean negative log-likelihood, nats per example
    bpd: float


@dataclass
class Samples(Event):
    kind = "samples"
    step: int
    samples: Any = _live()  # (n, *shape) tensor on the CPU


@dataclass
class Checkpoint(Event):
    kind = "checkpoint"
    step: int
    metrics: dict = field(default_factory=dict)
    model: Any = _live()
    state: Any = _live()  # TrainState to resume from (arstudio.training.state), or None
    ema: Any = _live()  # the moving average of the weights (TrainConfig.ema), or None


@dataclass
class Done(Event):
    kind = "done"
    step: int
    elapsed: float
    test_nats: float | None = None
    test_bpd: float | None = None
    stopped_early: bool = False
