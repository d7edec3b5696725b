"""The model protocol every architecture implements.

A model is an ``nn.Module`` built for one :class:`~arstudio.spec.DataSpec`.
Subclasses implement :meth:`ARModel.conditionals` (teacher forcing: every
p(x_i | x_<i) at once); the base class derives the likelihood, bits/dim,
naive sampling, completion (``known``/``mask``) and the stepwise sampler the
studio animates. Models with a fast generation path override
:meth:`ARModel.make_stepper` to return a cached stepper; the sampling loop,
the random stream and the completion logic stay shared, which is what makes
"same seed -> same samples" between naive and cached paths hold.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import nn

from arstudio.distributions import Conditionals
from arstudio.models.steppers import NaiveStepper, Stepper
from arstudio.spec import DataSpec


@dataclass
class SampleStep:
    """One step of generation: ``x`` is the live (n, *shape) buffer."""

    step: int  # 0-based position in the generation order
    index: int  # flattened dimension just generated
    total: int  # dimensions to generate in all
    x: torch.Tensor


def rename_keys(state: dict, renames) -> dict:
    """State-dict keys of an older checkpoint -> today's: each (pattern, replacement) of
    ``renames`` is applied with ``re.sub`` to every key, in turn."""
    out = {}
    for key, value in state.items():
        for pattern, replacement in renames:
            key = re.sub(pattern, replacement, key)
        out[key] = value
    return out


class ARModel(nn.Module):
    """Base class: ``Config`` is the frozen dataclass of hyper-parameters."""

    registry_name = "?"

    #: Generation continues past the training length (a finite receptive field or a
    #: recurrent state: WaveNet, the causal-conv ARM, the RNN ARM, linear AR); see
    #: arstudio/sampling/sequence.py. False: at most ``spec.shape[0]`` steps.
    any_length: bool = False

    #: Local conditioning: the trainer passes the data's slow series
    #: (``Dataset.extras["local"][split]``, (N, C, frames)) as ``local=`` (WaveNet), or
    #: for an image model its spatial maps (N, *local_map) (see :attr:`local_map`).
    uses_local: bool = False

    #: Spatial conditioning of an image model: the (channels, H, W) of the map ``local=``
    #: takes per example (Gated PixelCNN with ``local_channels``: where the digit should
    #: go; the Samples and Complete tabs let the user paint it); None without one.
    local_map: tuple[int, int, int] | None = None

    @dataclass(frozen=True)
    class Config:
        pass

    def __init__(self, spec: DataSpec, config):
        super().__init__()
        self.spec = spec
        self.config = config

    # --- to implement ----------------------------------------------------------
    def conditionals(self, x: torch.Tensor, **cond) -> Conditionals:
        """Every dimension's distribution given its predecessors in ``order``.

        ``cond`` carries optional conditioning inputs of conditional models
        (e.g. ``label=`` class ids, ``local=`` a slower series); unconditional
        models ignore it."""
        raise NotImplementedError

    # --- optional capabilities ----------------------------------------------------
    # Declared here with their defaults so that the core asks ``model.uses_labels``
    # (never probing for the attribute). A model that has one of them
    # overrides the attribute/property and, where there is one, the method.

    #: How many labels ``label=`` takes (class ids 0 .. num_labels-1); 0 without labels.
    num_labels: int = 0

    @property
    def uses_labels(self) -> bool:
        """Conditioning: the trainer, the sample grids and Listen pass class ids as
        ``label=`` to a model with :attr:`num_labels` > 0 (WaveNet with ``num_labels``,
        a class-conditional Gated PixelCNN)."""
        return self.num_labels > 0

    #: Autoregressive over x. False for a model that is registered and trained like the others but whose
    #: ``log_prob`` is not an autoregressive likelihood of x (the VQ-VAE: log p(x | its
    #: codes)); the shared contract tests and the AR views leave it out.
    autoregressive: bool = True

    #: The label id meaning "no label given" (trained by the trainer's
    #: ``label_dropout``); None when the model has no such id.
    no_label: int | None = None

    #: Closed-form fit: :meth:`fit` solves for the weights in one go (linear AR's
    #: least squares); the trainer then runs no gradient steps.
    supports_fit: bool = False

    #: Any-order conditionals: :meth:`conditionals_given` gives p(x_i | x_S) for any
    #: observed set S in one pass (DeepNADE); completion's ``any-order`` uses it.
    supports_any_order: bool = False

    #: Order-agnostic: :meth:`set_order` turns the model into an exact AR model in
    #: that ordering (MADE trained with ``order_agnostic``, DeepNADE).
    order_agnostic: bool = False

    #: Masked-linear models holding several connectivity masks (MADE): the one
    #: that ``order``, sampling and ``conditionals`` use (the mask inspector shows it).
    active: int = 0

    def fit(self, data: torch.Tensor) -> ARModel:
        """Closed-form fit on ``data`` (N, *shape); only where :attr:`supports_fit`."""
        raise NotImplementedError(f"{self.registry_name} has no closed-form fit")

    def conditionals_given(self, x: torch.Tensor, observed: torch.Tensor, **cond) -> Conditionals:
        """p(x_i | x_observed) for every i outside ``observed`` ((B, *shape) bool), exact for
        the model that lists the observed set first; only where :attr:`supports_any_order`."""
        raise NotImplementedError(f"{self.registry_name} has no any-order conditionals")

    def set_order(self, order) -> None:
        """Evaluate and sample in ``order`` (a permutation of the flattened dimensions) from
        now on; exact for any order only where :attr:`order_agnostic`."""
        raise NotImplementedError(f"{self.registry_name} generates in a fixed order")

    #: The metadata of the checkpoint the model was read from (dataset, metrics, run, ...),
    #: set by :func:`arstudio.checkpoint.load_checkpoint`; empty for a model built in memory.
    checkpoint_meta: Mapping = MappingProxyType({})

    #: Config names an older checkpoint may use -> today's (see :meth:`upgrade_checkpoint`).
    config_renames: dict[str, str] = {}
    #: State-dict keys of older checkpoints -> today's: (pattern, replacement) for ``re.sub``.
    state_renames: tuple = ()

    @classmethod
    def upgrade_checkpoint(cls, config: dict, state: dict) -> tuple[dict, dict]:
        """What an older checkpoint stored -> what today's model takes: (config, state dict).

        Called by the checkpoint loader on every read (files are never rewritten).
        The default renames config keys by :attr:`config_renames` and state-dict keys
        by :attr:`state_renames`; a model whose weights changed shape overrides it."""
        return ({cls.config_renames.get(k, k): v for k, v in config.items()},
                rename_keys(state, cls.state_renames))

    def dilation_stack(self) -> list | None:
        """The causal 1-D convolutions from the input up, for models whose receptive field
        is a dilation tree (WaveNet); None for every other model."""
        return None

    def feature_layers(self) -> list:
        """Image models: the network's layers from the input up, for the receptive-field
        growth view (:mod:`arstudio.inspect.layers`): ``(name, module, part)`` each, where the
        module's forward output (``part`` None) or ``output[part]`` is either a feature map
        (B, ch, h, w) over the pixel grid (a smaller map: a coarser scale of it) or a token
        sequence (B, D, d) whose position t holds dimension ``order[t]``. [] for models
        without such layers (the view then says so)."""
        return []

    # --- the input hook: what every gradient probe differentiates --------------------
    _probe: list | None = None  # set only while arstudio.inspect probes this model

    def input_hook(self, u: torch.Tensor, feature_axis: int | None = None,
                   shift: int = 0) -> torch.Tensor:
        """Every model passes the float tensor its network first reads through here.

        ``u`` is (B, *shape) (one float per dimension, as :meth:`scale_input` gives),
        or carries a feature axis ``feature_axis`` (one-hot levels, an embedding) on
        top of the flattened dimensions, the position axis holding dimension
        ``p - shift`` at position ``p`` (``shift=1``: shifted right behind a start
        token). Outside a probe this returns ``u`` itself; during one
        (:func:`arstudio.inspect.receptive_field.input_gradient`) it returns a leaf
        that requires grad, recorded with how to map it back to the data."""
        if self._probe is None:
            return u
        leaf = u.detach().requires_grad_(True)
        self._probe.append((leaf, feature_axis, shift))
        return leaf

    # --- protocol ----------------------------------------------------------------
    @property
    def order(self) -> torch.Tensor:
        """Generation order: a permutation of the flattened dimensions."""
        return torch.arange(self.spec.num_dims)

    @property
    def num_dims(self) -> int:
        return self.spec.num_dims

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def config_dict(self) -> dict:
        return dataclasses.asdict(self.config)

    def log_prob(self, x: torch.Tensor, reduce: bool = True, **cond) -> torch.Tensor:
        """Exact log-likelihood in nats: (B,), or (B, *shape) per-dimension terms."""
        terms = self.conditionals(x, **cond).log_prob(x)
        return terms.flatten(1).sum(1) if reduce else terms

    def loss(self, x: torch.Tensor, **cond) -> torch.Tensor:
        """Training objective: mean negative log-likelihood in nats per example."""
        return -self.log_prob(x, **cond).mean()

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        return -self.log_prob(x) / (self.num_dims * math.log(2.0))

    # --- generation ------------------------------------------------------------------
    def make_stepper(self, x: torch.Tensor, **cond):
        """The stepper factory: a cached sampler for ``x`` (n, *shape), or the naive one.

        Models with a fast path return a :class:`~arstudio.models.steppers.RasterStepper`
        or :class:`~arstudio.models.steppers.SequenceStepper` that owns its caches;
        the sampling loop, the random stream and completion stay here."""
        return NaiveStepper(self, x, **cond)

    def naive_stepper(self, x: torch.Tensor, **cond) -> Stepper:
        """The full-recompute stepper (``sample(naive=True)``, benchmarks, tests)."""
        return NaiveStepper(self, x, **cond)

    @property
    def has_cached_stepper(self) -> bool:
        """Whether :meth:`make_stepper` is overridden (a faster path than :class:`NaiveStepper`)."""
        return type(self).make_stepper is not ARModel.make_stepper

    def _prepare(self, n, known, mask):
        shape = (n, *self.spec.shape)
        dtype = torch.long if self.spec.discrete else torch.float32
        x = torch.zeros(shape, dtype=dtype, device=self.device)
        if mask is None:
            return x, torch.zeros(shape, dtype=torch.bool, device=self.device)
        if known is None:
            raise ValueError("a mask needs the known values it keeps")
        mask = torch.as_tensor(mask, device=self.device).bool().expand(shape).clone()
        known = torch.as_tensor(known, device=self.device).to(dtype).expand(shape)
        x = torch.where(mask, known, x)
        return x, mask

    @torch.no_grad()
    def sample_steps(self, n: int, known=None, mask=None, temperature: float = 1.0,
                     generator: torch.Generator | None = None,
                     naive: bool = False, **cond) -> Iterator[SampleStep]:
        """Generate dimension by dimension, yielding after each one.

        Entries where ``mask`` is true are kept from ``known`` (completion);
        dimensions known in every sample are skipped without a network pass.
        ``naive=True`` forces the full-recompute path (for benchmarks/tests).
        """
        was_training = self.training
        self.eval()
        try:
            x, mask = self._prepare(n, known, mask)
            flat_x, flat_mask = x.view(n, -1), mask.view(n, -1)
            stepper = self.naive_stepper(x, **cond) if naive else self.make_stepper(x, **cond)
            order = self.order.tolist()
            for step, i in enumerate(order):
                if bool(flat_mask[:, i].all()):
                    yield SampleStep(step, i, len(order), x)
                    continue
                dist = stepper.conditional(i, x)
                value = dist.sample(temperature, generator).to(x.dtype)
                flat_x[:, i] = torch.where(flat_mask[:, i], flat_x[:, i], value)
                yield SampleStep(step, i, len(order), x)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def sample(self, n: int, known=None, mask=None, temperature: float = 1.0,
               generator: torch.Generator | None = None, naive: bool = False,
               **cond) -> torch.Tensor:
        """n samples (n, *shape); entries where ``mask`` is true come from ``known``."""
        last = None
        for last in self.sample_steps(n, known, mask, temperature, generator, naive, **cond):
            pass
        if last is None:
            raise ValueError("nothing to sample: the spec has no dimensions")
        return last.x.clone()

    # --- helpers for subclasses ---------------------------------------------------------
    def scale_input(self, x: torch.Tensor) -> torch.Tensor:
        """Discrete levels -> floats in [-1, 1]; real values pass through."""
        if self.spec.levels is None:
            return self.input_hook(x.float())
        return self.input_hook(x.float() * (2.0 / (self.spec.levels - 1)) - 1.0)
