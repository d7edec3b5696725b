"""The trainer's settings (:class:`TrainConfig`), checked when made; no torch here.

``arstudio train --help`` lists them and recipes check them without importing torch;
the trainer (:mod:`arstudio.training.trainer`, which re-exports them) reads them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000  # optimiser steps (ignored when epochs is set)
    epochs: float | None = None  # passes over the training split, overrides steps
    batch_size: int = 64  # examples per optimiser step
    lr: float = 1e-3  # peak learning rate
    optimizer: str = "adam"  # "adam" or "adamw"
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    grad_clip: float = 1.0  # max global gradient norm; 0 disables
    schedule: str = "cosine"  # "cosine" decay to 10% after warm-up, or "constant"
    warmup: int = 50  # linear warm-up steps
    seed: int = 0  # data order, initial weights, samples: the same seed gives the same run
    log_every: int = 10  # a training-loss point every N steps
    eval_every: int = 250  # validation bits/dim every N steps (and at the end)
    sample_every: int = 250  # sample grid every N steps; 0 disables
    num_samples: int = 16  # examples in each sample grid
    checkpoint_every: int = 500  # a checkpoint (and resumable state) every N steps
    device: str = "auto"  # "auto", "cpu", "cuda", "mps"
    bf16: bool = True  # precision auto may use bf16 on CUDA (False: auto means fp32; older runs' setting)
    # mixed precision of the training step (arstudio/training/amp.py): auto = bf16 on a CUDA GPU
    # that has it, fp16 + gradient scaler on an older one, fp32 on CPU/MPS; or fp32, bf16, fp16
    precision: str = "auto"
    compile: str = "off"  # torch.compile the training step: off, default, reduce-overhead, max-autotune
    channels_last: bool = False  # channels-last weights and batches for 2-D conv models (else no-op)
    eval_batch_size: int = 256  # examples per batch when scoring validation and test
    max_minutes: float | None = None  # wall-clock budget of this call (a resume gets it afresh): stop early (and test) when it runs out
    keep_best: bool = True  # end on the weights with the best validation NLL (early stopping)
    # sequences only: train on random windows this long (0 = whole sequences). WaveNet-style
    # models are length-agnostic, so short crops mean many more, cheaper steps; validation and
    # test always score whole sequences
    crop: int = 0
    # conditional models with a "no label" id (``model.no_label``): this fraction of training
    # labels is replaced by it, so the same model also generates without a label
    label_dropout: float = 0.0
    # models with a closed-form fit (``model.fit(train)``, e.g. linear-ar's least squares):
    # solve once instead of taking gradient steps
    closed_form: bool = False
    # decay of an exponential moving average of the weights (e.g. 0.999; 0 = none): evaluated
    # beside the raw weights and saved as checkpoints/ema.safetensors
    ema: float = 0.0
    tensorboard: bool = False  # also write TensorBoard event files into RUN/tensorboard (the tensorboard extra)

    def __post_init__(self):
        """Every setting in range, checked when the config is made: before a run folder exists,
        with the same one-line message for the command line and the window."""
        problems = _config_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    def total_steps(self, train_size: int) -> int:
        if self.epochs is not None:
            return max(1, math.ceil(self.epochs * train_size / self.batch_size))
        return self.steps


SCHEDULES = ("cosine", "constant")
OPTIMIZERS = ("adam", "adamw")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # arstudio/training/amp.py
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")  # torch.compile modes
COMPILE_BACKENDS = ("eager", "aot_eager")  # cheap torch.compile backends, for tests and debugging
COMPILES = ("off", *COMPILE_MODES, *COMPILE_BACKENDS)


def _config_problems(c: TrainConfig) -> list[str]:
    out = []

    def number(name, *, integer=False, minimum=None, positive=False, below=None, optional=False):
        v = getattr(c, name)
        if v is None and optional:
            return
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
            out.append(f"{name} must be {'a whole number' if integer else 'a number'}, got {v!r}")
        elif not math.isfinite(v):
            out.append(f"{name} must be finite, got {v}")
        elif positive and v <= 0:
            out.append(f"{name} must be above 0, got {v}")
        elif minimum is not None and v < minimum:
            out.append(f"{name} must be at least {minimum}, got {v}")
        elif below is not None and v >= below:
            out.append(f"{name} must be below {below}, got {v}")

    if c.epochs is None or c.epochs == 0:
        number("steps", integer=True, minimum=0 if c.closed_form else 1)
    number("epochs", positive=True, optional=True)
    for name in ("batch_size", "log_every", "eval_every", "checkpoint_every", "num_samples",
                 "eval_batch_size"):
        number(name, integer=True, minimum=1)
    for name in ("sample_every", "warmup", "crop", "seed"):
        number(name, integer=True, minimum=0)
    if isinstance(c.seed, int) and c.seed >= 2 ** 63:
        out.append(f"seed must be below 2**63, got {c.seed}")
    number("lr", positive=True)
    number("weight_decay", minimum=0)
    number("grad_clip", minimum=0)
    number("max_minutes", minimum=0, optional=True)
    number("label_dropout", minimum=0, below=1)
    number("ema", minimum=0, below=1)
    if c.schedule not in SCHEDULES:
        out.append(f"unknown schedule {c.schedule!r}; use {' or '.join(map(repr, SCHEDULES))}")
    if c.optimizer not in OPTIMIZERS:
        out.append(f"unknown optimizer {c.optimizer!r}; use {' or '.join(map(repr, OPTIMIZERS))}")
    if not isinstance(c.device, str) or not (c.device in DEVICES or c.device.startswith("cuda:")):
        out.append(f"unknown device {c.device!r}; use auto, cpu, cuda, cuda:N or mps")
    if c.precision not in PRECISIONS:
        out.append(f"unknown precision {c.precision!r}; use {', '.join(PRECISIONS)}")
    if c.compile not in COMPILES:
        out.append(f"unknown compile {c.compile!r}; use {', '.join(COMPILES)}")
    if not isinstance(c.channels_last, bool):
        out.append(f"channels_last must be true or false, got {c.channels_last!r}")
    return out
