"""Sequences of any length, chunk by chunk: the generation loop behind the Listen
tab, ``arstudio sample --seconds`` and the WaveNet bench.

A sequence model with a finite receptive field (WaveNet, the causal-conv ARM,
linear AR) or a recurrent state (the RNN ARM) has nothing tying it to its
training length: its stepper keeps a queue of the last activations (or the
hidden state), and generation continues past ``spec.shape[0]`` for as long
as asked. :func:`stream` yields the codes as NumPy chunks as they are made.

Where the stepper has a whole-chunk path (WaveNet's ``sample_run``, see
arstudio/models/_wavenet_fast.py) a chunk is one call; otherwise the shared
per-position loop of :meth:`ARModel.sample_steps` runs on a buffer of the
asked length. Both draw one (n,) uniform per generated position from the
caller's generator, in order, so for the training length and the same seed
the codes equal ``model.sample``'s.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def any_length(model) -> bool:
    """Whether ``model`` can generate past its training length (``ARModel.any_length``)."""
    return bool(model.any_length)


def stream(model, length: int, n: int = 1, temperature: float = 1.0, generator=None,
           prime=None, chunk: int = 1024, max_chunk: int | None = None,
           **cond) -> Iterator[np.ndarray]:
    """Yield (n, m) code chunks covering positions 0 .. length-1, in order.

    ``prime`` (n or 1, P) codes are kept as the first P positions (yielded first,
    fed through the model, never drawn); ``cond`` is the model's conditioning
    (``label=``, ``local=``). With ``max_chunk`` the chunks start at ``chunk`` and
    double up to it (the first sound comes quickly, later chunks cost less overhead)."""
    T = model.spec.shape[0]
    if len(model.spec.shape) != 1 or not torch.equal(model.order.cpu(), torch.arange(T)):
        raise ValueError(f"{model.registry_name} does not generate a sequence left to right")
    if length > T and not any_length(model):
        raise ValueError(f"{model.registry_name} generates at most its training length ({T} steps)")
    length = int(length)
    dtype = torch.long if model.spec.discrete else torch.float32
    was_training = model.training
    model.eval()
    try:
        x = torch.zeros((n, 1), dtype=dtype, device=model.device)
        with torch.no_grad():
            stepper = model.make_stepper(x, **cond)
        whole = _whole_chunks(stepper)
        if not whole:  # driven one position at a time on a buffer of the whole length
            x = torch.zeros((n, length), dtype=dtype, device=model.device)
            with torch.no_grad():
                stepper = model.make_stepper(x, **cond)
        primed = 0
        if prime is not None and len(np.asarray(prime).reshape(-1)):
            p = torch.as_tensor(np.asarray(prime)).to(dtype)
            p = p.reshape(p.shape[0] if p.ndim == 2 else 1, -1)
            p = p.expand(n, -1)[:, :length]
            primed = p.shape[1]
            if whole:
                stepper.feed(p.numpy())
            else:
                x[:, :primed] = p.to(model.device)
            yield p.numpy().copy()
        done = primed
        while done < length:
            stop = min(length, done + chunk)
            with torch.no_grad():
                if whole:
                    codes = stepper.sample_run(done, stop, temperature, generator)
                else:
                    for t in range(done, stop):
                        value = stepper.conditional(t, x).sample(temperature, generator)
                        x[:, t] = value.to(dtype)
                    codes = x[:, done:stop].cpu().numpy()
            yield codes
            done = stop
            if max_chunk:
                chunk = min(2 * chunk, max_chunk)
    finally:
        model.train(was_training)


def _whole_chunks(stepper) -> bool:
    """Whether the stepper makes a whole chunk in one call (``sample_run`` and ``feed``,
    WaveNet's fast path); the others are driven one position at a time."""
    return callable(getattr(stepper, "sample_run", None))


def generate(model, length: int, n: int = 1, **kw) -> np.ndarray:
    """The whole (n, length) sequence at once (see :func:`stream`)."""
    parts = list(stream(model, length, n, **kw))
    return np.concatenate(parts, 1) if parts else np.zeros((n, 0))
