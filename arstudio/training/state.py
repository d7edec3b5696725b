"""What a stopped run needs to go on exactly where it was: the resumable state.

Beside each checkpoint the run folder keeps one ``train_state.safetensors``:
the last step's weights, the optimizer's moments, the best validation weights
so far (early stopping), the weights' moving average (``TrainConfig.ema``), the shuffled order and cursor of the training split,
and the RNG states (torch's global generator, the trainer's shuffler, CUDA's),
as safetensors tensors; the step (the schedule's position), the optimizer's
hyper-parameters and the figures so far are JSON in the same file's header.
Nothing is pickled. :func:`capture` takes the state from a live trainer,
:func:`save_state` / :func:`load_state` write and read it, and the trainer
applies it with ``train(..., resume=state)``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

STATE_FORMAT = "arstudio-train-state/1"


class StateError(Exception):
    """A resumable state that cannot be read or does not fit; the message says why."""


@dataclass
class TrainState:
    step: int
    model: dict[str, torch.Tensor]  # weights after ``step`` steps (not the best ones)
    optimizer: dict  # torch optimizer state_dict
    rng_torch: torch.Tensor
    rng_shuffle: torch.Tensor
    perm: torch.Tensor  # the current pass's order of the training split
    cursor: int  # position in ``perm``
    elapsed: float  # training seconds before this state
    best: dict = field(default_factory=dict)  # {"nats", "step", "state" (weights or None)}
    last_val: dict | None = None
    rng_cuda: list[torch.Tensor] = field(default_factory=list)
    ema: dict[str, torch.Tensor] | None = None  # AveragedModel state (TrainConfig.ema)


def _copy(sd: dict) -> dict:
    return {k: v.detach().to("cpu").clone() for k, v in sd.items()}


def capture(model, opt, shuffler: torch.Generator, perm, cursor, step, elapsed, best, last_val,
            ema=None) -> TrainState:
    best_state = best.get("state")
    return TrainState(
        step=int(step), model=_copy(model.state_dict()), optimizer=_optimizer_cpu(opt.state_dict()),
        rng_torch=torch.get_rng_state(), rng_shuffle=shuffler.get_state(), perm=perm.clone(),
        cursor=int(cursor), elapsed=float(elapsed),
        best={"nats": float(best.get("nats", float("inf"))), "step": int(best.get("step", 0)),
              "state": _copy(best_state) if best_state is not None else None},
        last_val=dict(last_val) if last_val else None,
        rng_cuda=list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        ema=_copy(ema.state_dict()) if ema is not None else None)


def _optimizer_cpu(sd: dict) -> dict:
    state = {i: {k: (v.detach().to("cpu").clone() if torch.is_tensor(v) else v) for k, v in s.items()}
             for i, s in sd["state"].items()}
    return {"state": state, "param_groups": [dict(g) for g in sd["param_groups"]]}


def _jsonable(value):
    if isinstance(value, tuple):
        return {"__tuple__": [_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return {"__float__": "nan"}
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return {"__float__": "inf" if value > 0 else "-inf"}
    return value


def _unjson(value):
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_unjson(v) for v in value["__tuple__"])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _unjson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


def save_state(state: TrainState, path) -> Path:
    from safetensors.torch import save_file

    from arstudio.atomic import atomic_write

    tensors: dict[str, torch.Tensor] = {}
    tensors.update({f"model/{k}": v for k, v in state.model.items()})
    if state.best.get("state") is not None:
        tensors.update({f"best/{k}": v for k, v in state.best["state"].items()})
    scalars: dict = {}
    for i, s in state.optimizer["state"].items():
        for k, v in s.items():
            if torch.is_tensor(v):
                tensors[f"optim/{i}/{k}"] = v
            else:
                scalars.setdefault(str(i), {})[k] = v
    tensors["rng/torch"] = state.rng_torch
    tensors["rng/shuffle"] = state.rng_shuffle
    for i, r in enumerate(state.rng_cuda):
        tensors[f"rng/cuda/{i}"] = r
    tensors["data/perm"] = state.perm
    if state.ema is not None:
        tensors.update({f"ema/{k}": v for k, v in state.ema.items()})
    meta = {"format": STATE_FORMAT, "step": state.step, "cursor": state.cursor, "elapsed": state.elapsed,
            "param_groups": state.optimizer["param_groups"], "optim_scalars": scalars,
            "optim_params": sorted(int(i) for i in state.optimizer["state"]),
            "best": {"nats": state.best.get("nats"), "step": state.best.get("step"),
                     "has_state": state.best.get("state") is not None},
            "last_val": state.last_val}
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    text = json.dumps(_jsonable(meta))
    digest = _digest(text, tensors)
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata={"arstudio-train-state": text,
                                                                           HASH_KEY: digest}))
    return Path(path)


HASH_KEY = "arstudio-train-state-sha256"  # over the metadata text and every tensor, checked on resume


def _digest(text: str, tensors: dict) -> str:
    """SHA-256 of the state's metadata text and every tensor (name, dtype, shape, bytes)."""
    import hashlib

    h = hashlib.sha256(text.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _read_state(path, tensors: bool) -> tuple[dict, dict]:
    """A resumable state file's metadata and, with ``tensors``, its tensors."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise StateError(f"{path}: no resumable state (the run saved no checkpoint yet)")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata()
            text = header["arstudio-train-state"]
            meta = _unjson(json.loads(text))
            if not isinstance(meta, dict):
                raise TypeError("its metadata is not a table")
            out = {k: f.get_tensor(k) for k in f.keys()} if tensors else {}
    except (SafetensorError, OSError, KeyError, ValueError, TypeError, RecursionError) as e:
        raise StateError(f"{path}: unreadable resumable state ({e})") from None
    if tensors:  # states written before the hash carry none: only the finite check applies to them
        if header.get(HASH_KEY) is not None and _digest(text, out) != header[HASH_KEY]:
            raise StateError(f"{path}: damaged resumable state (its content hash does not match)")
        for k, v in out.items():
            if k.startswith(("model/", "ema/", "best/")) and v.is_floating_point() and not bool(torch.isfinite(v).all()):
                raise StateError(f"{path}: resumable state {k!r} holds NaN or Inf values")
    return meta, out


def state_step(path) -> int:
    """The step a resumable state holds, from its header alone (no tensor is read)."""
    meta, _ = _read_state(path, tensors=False)
    try:
        return int(meta["step"])
    except (KeyError, ValueError, TypeError) as e:
        raise StateError(f"{Path(path)}: unreadable resumable state ({e})") from None


def load_state(path) -> TrainState:
    try:
        return _load_state(path)
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # a wrong-typed field of the metadata
        raise StateError(f"{path}: damaged resumable state ({type(e).__name__}: {e})") from None


def _load_state(path) -> TrainState:
    meta, tensors = _read_state(path, tensors=True)
    if meta.get("format") != STATE_FORMAT:
        raise StateError(f"{path}: unsupported state format {meta.get('format')!r}")

    def group(prefix):
        n = len(prefix)
        return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}

    optim_state: dict = {}
    for i in meta["optim_params"]:
        s = {k: v for k, v in group(f"optim/{i}/").items()}
        s.update(meta["optim_scalars"].get(str(i), {}))
        optim_state[int(i)] = s
    best = {"nats": meta["best"]["nats"], "step": meta["best"]["step"],
            "state": group("best/") if meta["best"]["has_state"] else None}
    cuda = group("rng/cuda/")
    try:
        return TrainState(
            step=int(meta["step"]), model=group("model/"),
            optimizer={"state": optim_state, "param_groups": meta["param_groups"]},
            rng_torch=tensors["rng/torch"], rng_shuffle=tensors["rng/shuffle"], perm=tensors["data/perm"],
            cursor=int(meta["cursor"]), elapsed=float(meta["elapsed"]), best=best,
            last_val=meta.get("last_val"), rng_cuda=[cuda[k] for k in sorted(cuda, key=int)],
            ema=group("ema/") or None)
    except KeyError as e:
        raise StateError(f"{path}: resumable state lacks {e}") from None
