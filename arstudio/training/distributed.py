"""Training in several processes on PyTorch's own engine: ``torchrun`` and
``DistributedDataParallel`` (Gloo on the CPU, NCCL on CUDA with one GPU per process).

``torchrun`` starts the processes and sets ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` in each; :func:`init_from_env` joins them into one process group
and makes a :class:`Dist` the trainer asks through :func:`current`. One process
alone (no torchrun, or a world of one) gets :data:`SINGLE`, whose every method
is the identity, so the one-process path is unchanged.

What each rank does (see ``training/trainer.py``):

- every rank holds the whole data set and the same shuffled order (the same
  seed); each step takes the global batch of ``TrainConfig.batch_size``
  examples from it, applies crops / label dropout to the whole batch (so the
  trainer's generator stays the same on every rank) and keeps its own shard,
  ``batch[rank::world_size]``: ``batch_size / world_size`` examples per rank;
- DDP averages the gradients (the loss is a mean per example, so the average
  of equal shards' gradients is the whole batch's); the logged loss, the
  divergence check, validation and test figures are reduced over all ranks;
- rank 0 alone writes the run folder and reads ``control.json``; pause, stop
  and the time budget are rank 0's decision, broadcast each step;
- a rank that dies: the others' next collective fails (or times out after
  ``ARSTUDIO_DIST_TIMEOUT`` seconds, default 600) and becomes one
  :class:`~arstudio.training.events.TrainingError`, and torchrun stops the rest.
"""
from __future__ import annotations

import datetime
import os
import socket
from dataclasses import dataclass, field

import torch

TIMEOUT_ENV = "ARSTUDIO_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0
_ACTIONS = {None: 0, "resume": 0, "pause": 1, "stop": 2}


def under_torchrun() -> bool:
    """Started by torchrun (or anything that sets its environment variables)."""
    return all(k in os.environ for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))


@dataclass
class Dist:
    """This process's place in the run: rank, world size, backend."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str | None = None  # "gloo" | "nccl" when a process group is up
    _device: torch.device | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # --- devices and batches -------------------------------------------------------------
    def device(self, requested: str) -> torch.device:
        """The trainer's device: one GPU per process under NCCL, else as asked."""
        from arstudio.devices import pick_device

        if self.backend == "nccl":
            return torch.device("cuda", self.local_rank)
        return pick_device(requested)

    def batch_problem(self, batch_size: int) -> str | None:
        if self.active and batch_size % self.world_size:
            return (f"batch_size {batch_size} does not split over {self.world_size} processes: the global "
                    f"batch is shared out equally, so use a multiple of {self.world_size}")
        return None

    def shard(self, t):
        """This rank's examples of a global batch (``None`` stays ``None``)."""
        if t is None or not self.active:
            return t
        return t[self.rank::self.world_size]

    def shard_range(self, n: int) -> tuple[int, int]:
        """This rank's contiguous part of ``n`` examples (validation, test)."""
        if not self.active:
            return 0, n
        per = -(-n // self.world_size)
        return min(n, self.rank * per), min(n, (self.rank + 1) * per)

    # --- collectives (each one a no-op for one process) ---------------------------------
    def _comm_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def agree(self, action: str | None, over_budget: bool = False) -> tuple[str | None, bool]:
        """Rank 0's control request and time-budget verdict, on every rank."""
        if not self.active:
            return action, over_budget
        import torch.distributed as dist

        code = torch.tensor([_ACTIONS.get(action, 0) + 4 * bool(over_budget)], device=self._comm_device())
        self._call(dist.broadcast, code, 0)
        value = int(code.item())
        return {0: None, 1: "pause", 2: "stop"}[value % 4], value >= 4

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """The mean over ranks of a scalar tensor (a NaN anywhere is a NaN everywhere)."""
        if not self.active:
            return t
        import torch.distributed as dist

        t = t.detach().float().reshape(1).to(self._comm_device()).clone()
        self._call(dist.all_reduce, t)
        return (t / self.world_size).reshape(())

    def sum(self, value: float) -> float:
        if not self.active:
            return value
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self._comm_device())
        self._call(dist.all_reduce, t)
        return float(t.item())

    def gather(self, obj) -> list:
        if not self.active:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world_size
        self._call(dist.all_gather_object, out, obj)
        return out

    def from_main(self, obj):
        """Rank 0's ``obj`` on every rank (a run folder's name, an error message)."""
        if not self.active:
            return obj
        import torch.distributed as dist

        box = [obj]
        self._call(dist.broadcast_object_list, box, 0)
        return box[0]

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except RuntimeError as e:
            raise lost_peer(e) from None

    # --- the model -------------------------------------------------------------------------
    def wrap(self, model):
        """A callable ``(x, **cond) -> loss``: ``model.loss`` itself for one process, else
        DDP around it (DDP syncs the gradients of what ``forward`` computes, and the models'
        objective is ``loss``). Checkpoints keep saving ``model``, the unwrapped one."""
        if not self.active:
            return model.loss
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.local_rank] if self.backend == "nccl" else None
        # static_graph: the same parameters take part every step, some (a label table in an
        # unconditional use, say) perhaps never; DDP then needs no per-step graph search
        return DDP(_Loss(model), device_ids=ids, static_graph=True)

    def describe(self, device: torch.device, batch_size: int) -> dict:
        """For config.json: where every rank ran (a collective: every rank calls it)."""
        from arstudio.devices import describe_device

        me = {"device": describe_device(device), "host": socket.gethostname(), "pid": os.getpid()}
        ranks = self.gather(me)
        return {"world_size": self.world_size, "backend": self.backend,
                "nnodes": max(1, self.world_size // max(1, self.local_world_size)),
                "nproc_per_node": self.local_world_size,
                "global_batch": batch_size, "per_rank_batch": batch_size // self.world_size,
                "devices": [r["device"] for r in ranks], "hosts": [r["host"] for r in ranks],
                "pids": [r["pid"] for r in ranks]}

    def device_text(self, text: str) -> str:
        return f"{text} ×{self.world_size} ({self.backend})" if self.active else text


class _Loss(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, **cond):
        return self.model.loss(x, **cond)


SINGLE = Dist()
_STATE = {"dist": SINGLE}


def current() -> Dist:
    """The process group this process trains in (:data:`SINGLE` without one)."""
    return _STATE["dist"]


def timeout_s() -> float:
    try:
        return max(1.0, float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_TIMEOUT_S


def init_from_env(device: str = "auto") -> Dist:
    """Join the process group torchrun set up (once); :data:`SINGLE` when not under torchrun
    or in a world of one. NCCL when the run trains on CUDA, Gloo otherwise."""
    if current().active or not under_torchrun():
        return current()
    world = int(os.environ["WORLD_SIZE"])
    if world <= 1:
        return current()
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    cuda = torch.cuda.is_available() and (device == "auto" or str(device).startswith("cuda"))
    backend = "nccl" if cuda and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s()))
    except RuntimeError as e:
        raise lost_peer(e) from None
    _STATE["dist"] = Dist(rank, world, local, local_world, backend)
    return _STATE["dist"]


def shutdown() -> None:
    """Leave the process group (at the end of ``arstudio train``)."""
    if current().active:
        import torch.distributed as dist

        try:
            dist.destroy_process_group()
        except (RuntimeError, ValueError):
            pass
        _STATE["dist"] = SINGLE


def lost_peer(e: BaseException):
    """A failed collective as the one message every front end shows."""
    from arstudio.training.events import TrainingError

    text = " ".join(str(e).split())
    if len(text) > 200:
        text = text[:199] + "…"
    return TrainingError("another process of this distributed run stopped or cannot be reached "
                         f"({text}); the last checkpoint is kept")


def is_comm_error(e: BaseException) -> bool:
    """A RuntimeError raised by a collective (Gloo / NCCL), e.g. inside DDP's backward."""
    import torch.distributed as dist

    if isinstance(e, getattr(dist, "DistError", ())):
        return True
    text = str(e)
    return any(s in text for s in ("gloo", "Gloo", "NCCL", "Connection closed", "Connection reset",
                                   "timed out", "Timed out", "ProcessGroup"))
