"""Completion: keep the painted entries, generate the rest.

``complete(model, known, mask, n, method=...)`` returns n completions that
keep every entry where ``mask`` is true. The methods differ in what each
generated entry can see:

- ``raster``: generate the unknown entries in the model's order, each from
  p(x_i | x_<i). Painted entries *later* in the order are kept but never
  seen by earlier choices; the result lists them (``unseen``).
- ``resample``: importance-resampled raster completion. Draw M raster
  candidates u ~ q(u) = prod_{i unknown} p(u_i | x_<i), weight each by the
  probability the model gives the painted entries that follow its generated
  ones, w = prod_{j painted} p(x_j | x_<j) = p(u, painted) / q(u) up to a
  constant, and resample n. As M grows the completions follow the exact
  conditional p(unknown | painted) (at temperature 1).
- ``any-order``: models that give exact conditionals for any observed set
  (see :func:`any_order_support`) generate the unknown entries with every
  painted entry observed: an exact sample from the model whose ordering
  lists the painted entries first.
- ``gibbs``: start from a raster completion and resample each unknown entry
  from p(x_i | all others) ∝ p(x) (K likelihood evaluations per entry,
  batched), for ``sweeps`` passes. Discrete data only.

:func:`complete_steps` yields the same work step by step for animation.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

METHODS = ("raster", "resample", "any-order", "gibbs")

NOTES = {
    "raster": "each pixel sees only the pixels before it in the model's order; "
              "painted pixels after the first unknown one are kept but unseen",
    "resample": "raster candidates reweighted by how well they explain the later painted "
                "pixels: every painted pixel counts",
    "any-order": "exact: every generated pixel sees all painted pixels and those drawn before it",
    "gibbs": "raster start, then each unknown pixel redrawn from p(x_i | all other pixels)",
}


@dataclass
class CompletionResult:
    samples: torch.Tensor  # (n, *shape) completions; painted entries equal `known`
    method: str
    mask: torch.Tensor  # (*shape) bool: the painted entries
    unseen: torch.Tensor  # (*shape) bool: painted entries no earlier generated entry saw
    note: str = ""  # what the generated entries could see, in words
    log_weights: torch.Tensor | None = None  # (M,) resample: candidate log-weights
    effective_samples: float | None = None  # resample: ESS of the candidate weights
    extras: dict = field(default_factory=dict)


@dataclass
class CompletionStep:
    """One step for animation: ``x`` (n, *shape) is the live buffer, ``index`` the entry just set."""

    phase: str  # "raster", "candidates", "any-order", "gibbs", "done"
    step: int
    index: int  # flattened entry just generated (-1 when none)
    total: int
    x: torch.Tensor
    result: CompletionResult | None = None  # set on the final step


def any_order_support(model) -> str | None:
    """How ``model`` gives exact conditionals for an arbitrary observed set, or None.

    Two of the capabilities :class:`~arstudio.models.base.ARModel` declares:

    - ``supports_any_order``: ``conditionals_given(x, observed)`` gives
      p(x_i | x_observed) for every i outside ``observed`` in one pass, exact
      for the model that lists the observed set first (DeepNADE);
    - ``order_agnostic``: ``set_order(order)`` on a model trained for any
      ordering (MADE with order-agnostic training): generation then runs in
      the chosen order.
    """
    if model.supports_any_order:
        return "conditionals_given"
    if model.order_agnostic:
        return "set_order"
    return None


def unseen_painted(model, mask: torch.Tensor) -> torch.Tensor:
    """Painted entries that come after the first unknown entry in ``model.order``: (*shape) bool."""
    flat = mask.reshape(-1).cpu()
    order = model.order.cpu()
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    unknown_ranks = rank[~flat]
    if len(unknown_ranks) == 0:
        return torch.zeros_like(mask, dtype=torch.bool)
    return (flat & (rank > unknown_ranks.min())).view(mask.shape).to(mask.device)


def _inputs(model, known, mask):
    shape = tuple(model.spec.shape)
    dtype = torch.long if model.spec.discrete else torch.float32
    mask = torch.as_tensor(mask, device=model.device).bool()
    known = torch.as_tensor(known, device=model.device).to(dtype)
    if tuple(mask.shape) != shape or tuple(known.shape) != shape:
        raise ValueError(f"known and mask must both have the data shape {shape}, "
                         f"got {tuple(known.shape)} and {tuple(mask.shape)}")
    return torch.where(mask, known, torch.zeros_like(known)), mask


def complete_steps(model, known, mask, n: int = 8, method: str = "raster", temperature: float = 1.0,
                   generator: torch.Generator | None = None, candidates: int | None = None,
                   sweeps: int = 1, naive: bool = False, order=None, **cond) -> Iterator[CompletionStep]:
    """Generate step by step; the last step carries the :class:`CompletionResult`.

    ``naive=True``: the full-recompute path instead of the model's cached stepper (the
    same samples for the same seed). ``order``: a permutation to generate in, for an
    order-agnostic model (``model.order_agnostic``); the model's own order is restored after."""
    if method not in METHODS:
        raise ValueError(f"unknown completion method {method!r}; choose from {METHODS}")
    if order is not None:
        if not model.order_agnostic:
            raise ValueError(f"{model.registry_name} generates in its own fixed order; "
                             "only an order-agnostic model takes another")
        old = model.order.clone()
        model.set_order(torch.as_tensor(order, dtype=torch.long))
        try:
            yield from complete_steps(model, known, mask, n, method, temperature, generator, candidates,
                                      sweeps, naive, None, **cond)
        finally:
            model.set_order(old)
        return
    known, mask = _inputs(model, known, mask)
    if method == "raster":
        yield from _raster(model, known, mask, n, temperature, generator, naive=naive, **cond)
    elif method == "resample":
        yield from _resample(model, known, mask, n, temperature, generator,
                             candidates or max(64, 8 * n), naive, **cond)
    elif method == "any-order":
        yield from _any_order(model, known, mask, n, temperature, generator, naive, **cond)
    else:
        yield from _gibbs(model, known, mask, n, temperature, generator, sweeps, naive, **cond)


def complete(model, known, mask, n: int = 8, method: str = "raster", temperature: float = 1.0,
             generator: torch.Generator | None = None, candidates: int | None = None,
             sweeps: int = 1, naive: bool = False, order=None, **cond) -> CompletionResult:
    """n completions (n, *shape) of ``known`` where ``mask`` is true; see the module docstring."""
    last = None
    for last in complete_steps(model, known, mask, n, method, temperature, generator,
                               candidates, sweeps, naive, order, **cond):
        pass
    return last.result


# --- methods -----------------------------------------------------------------------------

def _raster(model, known, mask, n, temperature, generator, phase="raster", naive=False, **cond):
    x = None
    for s in model.sample_steps(n, known, mask, temperature, generator, naive=naive, **cond):
        x = s.x
        yield CompletionStep(phase, s.step, s.index, s.total, x)
    result = CompletionResult(x.clone(), "raster", mask, unseen_painted(model, mask), NOTES["raster"])
    yield CompletionStep("done", model.num_dims, -1, model.num_dims, result.samples, result)


@torch.no_grad()
def _resample(model, known, mask, n, temperature, generator, M, naive=False, **cond):
    cands = None
    for s in _raster(model, known, mask, M, temperature, generator, phase="candidates", naive=naive, **cond):
        if s.result is not None:
            cands = s.result.samples  # (M, *shape)
        else:
            yield CompletionStep(s.phase, s.step, s.index, s.total, s.x[:n])
    unseen = unseen_painted(model, mask)
    log_w = torch.zeros(M, device=cands.device)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, M, 256):  # one extra likelihood pass, in chunks
            chunk = cands[start:start + 256]
            chunk_cond = {k: v[start:start + 256] if torch.is_tensor(v) and v.shape[:1] == (M,) else v
                          for k, v in cond.items()}
            terms = model.log_prob(chunk, reduce=False, **chunk_cond)  # (m, *shape)
            log_w[start:start + len(chunk)] = (terms * unseen).flatten(1).sum(1).float()
    finally:
        model.train(was_training)
    w = torch.softmax(log_w.cpu(), 0)
    ess = float(1.0 / (w * w).sum())
    pick = torch.multinomial(w, n, replacement=True, generator=generator).to(cands.device)
    samples = cands[pick].clone()
    result = CompletionResult(samples, "resample", mask, torch.zeros_like(mask), NOTES["resample"],
                              log_weights=log_w.cpu(), effective_samples=ess,
                              extras={"candidates": M, "picked": pick.cpu()})
    yield CompletionStep("done", model.num_dims, -1, model.num_dims, samples, result)


@torch.no_grad()
def _any_order(model, known, mask, n, temperature, generator, naive=False, **cond):
    how = any_order_support(model)
    if how is None:
        raise ValueError(f"{model.registry_name} has no exact conditionals for an arbitrary painted "
                         "set; use 'resample' (consistent) or 'raster'")
    shape = (n, *model.spec.shape)
    flat_mask = mask.reshape(-1)
    order = model.order.cpu()
    unknown = [int(i) for i in order if not bool(flat_mask[i])]  # model order among the unknown
    painted = [int(i) for i in order if bool(flat_mask[i])]
    total = model.num_dims
    was_training = model.training
    model.eval()
    try:
        if how == "set_order":
            old = order.clone()
            model.set_order(torch.tensor(painted + unknown))
            try:
                x = None
                for s in model.sample_steps(n, known, mask, temperature, generator, naive=naive, **cond):
                    x = s.x
                    yield CompletionStep("any-order", s.step, s.index, s.total, x)
            finally:
                model.set_order(old)
        else:
            x = known.expand(shape).clone()
            flat_x = x.view(n, -1)
            observed = mask.expand(shape).clone()
            for step, i in enumerate(unknown):
                dist = model.conditionals_given(x, observed, **cond).at(i)
                flat_x[:, i] = dist.sample(temperature, generator).to(x.dtype)
                observed.view(n, -1)[:, i] = True
                yield CompletionStep("any-order", len(painted) + step, i, total, x)
    finally:
        model.train(was_training)
    result = CompletionResult(x.clone(), "any-order", mask, torch.zeros_like(mask), NOTES["any-order"],
                              extras={"via": how})
    yield CompletionStep("done", total, -1, total, result.samples, result)


@torch.no_grad()
def _gibbs(model, known, mask, n, temperature, generator, sweeps, naive=False, **cond):
    if not model.spec.discrete:
        raise ValueError("gibbs refinement enumerates the levels: discrete data only")
    x = None
    for s in _raster(model, known, mask, n, temperature, generator, naive=naive, **cond):
        if s.result is None:
            yield s
        x = s.x
    K = model.spec.levels
    unknown = [int(i) for i in model.order if not bool(mask.reshape(-1)[i])]
    levels = torch.arange(K, device=x.device)
    total = sweeps * len(unknown)
    was_training = model.training
    model.eval()
    try:
        for sweep in range(sweeps):
            for j, i in enumerate(unknown):
                trial = x.unsqueeze(1).repeat(1, K, *([1] * (x.dim() - 1)))  # (n, K, *shape)
                trial.view(n, K, -1)[:, :, i] = levels
                trial_cond = {k: v.repeat_interleave(K, 0) if torch.is_tensor(v) and v.shape[:1] == (n,)
                              else v for k, v in cond.items()}
                logp = model.log_prob(trial.view(n * K, *x.shape[1:]), **trial_cond).view(n, K)
                probs = torch.softmax(logp.float().cpu() / max(temperature, 1e-6), -1)  # ∝ p(x)
                u = torch.rand(n, 1, generator=generator)
                cdf = probs.cumsum(-1)
                new = (cdf < u * cdf[:, -1:]).sum(-1).clamp_(max=K - 1)
                x.view(n, -1)[:, i] = new.to(x.device)
                yield CompletionStep("gibbs", sweep * len(unknown) + j, i, total, x)
    finally:
        model.train(was_training)
    result = CompletionResult(x.clone(), "gibbs", mask, torch.zeros_like(mask), NOTES["gibbs"],
                              extras={"sweeps": sweeps})
    yield CompletionStep("done", total, -1, total, result.samples, result)
