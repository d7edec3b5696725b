"""``arstudio train ... --nproc-per-node N``: the same command, N times, under torchrun.

The launcher (this module's :func:`launch`) runs PyTorch's own launcher,
``torch.distributed.run`` (the ``torchrun`` command; in this process, which
saves starting one more Python), on the same ``arstudio train`` line without
the launch options and with the run folder fixed (``--out``), then waits for it. ``torchrun -m arstudio train ...`` typed
by hand is the same thing without this wrapper. Each process it starts joins
the process group (:func:`join`, from ``arstudio train``); rank 0 names and
writes the run folder, the others train along (see
``arstudio/training/distributed.py``).

- one node: ``--nproc-per-node N`` (``--standalone`` rendezvous on a free port);
- several nodes: ``--nnodes M --rdzv-endpoint HOST:PORT`` on every node (c10d
  rendezvous at HOST), or with ``--node-rank K`` a fixed order (static
  rendezvous, HOST:PORT the master address of node 0).

When torchrun ends with an error while the run folder still says running
(a rank killed before it could write why), the launcher records the failure
there: status ``failed``, the reason in events.jsonl; checkpoints stay as they are.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

LAUNCH_OPTIONS = ("--nproc-per-node", "--nnodes", "--node-rank", "--rdzv-endpoint")


def wanted(args) -> bool:
    """Launch under torchrun: asked for more than one process, and not already under it."""
    from arstudio.training.distributed import under_torchrun

    if under_torchrun():
        return False
    nproc, nnodes = getattr(args, "nproc_per_node", None), getattr(args, "nnodes", None)
    if nproc is None and nnodes is None:
        return False
    return not (str(nproc or "1") == "1" and (nnodes or 1) == 1 and not args.rdzv_endpoint)


def processes(nproc) -> int | None:
    """How many processes ``--nproc-per-node`` means here (None when torchrun decides)."""
    text = str(nproc or "1")
    if text.isdigit():
        return int(text)
    if text == "gpu":
        import torch

        return torch.cuda.device_count() or None
    if text == "cpu":
        return os.cpu_count()
    return None


def torchrun_args(argv: list[str], out: str | None, nproc, nnodes=None, node_rank=None,
                  endpoint=None) -> list[str]:
    """torchrun's arguments (``torchrun ARGS`` as one would type it): ``-m arstudio ARGV``,
    ARGV without the launch options, with ``--out OUT`` added when a new run has none."""
    nnodes = nnodes or 1
    cmd = [f"--nproc-per-node={nproc or 1}", f"--nnodes={nnodes}", "--max-restarts=0"]
    if endpoint and node_rank is not None:
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit(f"--rdzv-endpoint: {endpoint!r} is not HOST:PORT")
        cmd += [f"--node-rank={node_rank}", f"--master-addr={host}", f"--master-port={port}"]
    elif endpoint:
        cmd += ["--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}"]
    elif nnodes > 1:
        raise SystemExit("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (node 0's address)")
    else:
        cmd += ["--standalone"]
    rest = strip_launch_options(argv)
    if out is not None and "--out" not in rest and not any(a.startswith("--out=") for a in rest):
        rest += ["--out", str(out)]
    return cmd + ["-m", "arstudio"] + rest


def strip_launch_options(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in LAUNCH_OPTIONS:
            skip = True
            continue
        if any(a.startswith(o + "=") for o in LAUNCH_OPTIONS):
            continue
        out.append(a)
    return out


def launch(args, argv: list[str], out, batch_size: int | None = None, resume: bool = False) -> int:
    """Run torchrun on this command, in this process (``torch.distributed.run``, which
    passes SIGTERM / SIGINT on to every process it started), and wait; the exit code.
    A batch that does not split over the processes is refused before any starts."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    nnodes = args.nnodes or 1
    if args.node_rank is not None and not 0 <= args.node_rank < nnodes:
        raise SystemExit(f"arstudio train: --node-rank {args.node_rank} is not one of the {nnodes} node(s) "
                         f"0..{nnodes - 1}")
    n = processes(args.nproc_per_node)
    world = n * (args.nnodes or 1) if n else None
    if world and batch_size and batch_size % world:
        raise SystemExit(f"arstudio train: batch size {batch_size} does not split over {world} processes; "
                         f"use a multiple of {world}")
    targs = torchrun_args(argv, None if resume else out, args.nproc_per_node, args.nnodes,
                          args.node_rank, args.rdzv_endpoint)
    if n:  # the threads this launcher may use, shared out (one each at least)
        threads = int(os.environ.get("OMP_NUM_THREADS") or 0) or (os.cpu_count() or 1)
        os.environ["OMP_NUM_THREADS"] = str(max(1, threads // n))
    logging.getLogger("torch.distributed.elastic").setLevel(logging.WARNING)
    try:
        run(get_args_parser().parse_args(targs))
        return 0
    except ChildFailedError as e:
        hows = [f"process {rank} " + (f"was killed (signal {-f.exitcode})" if f.exitcode < 0 else
                                      f"exited with code {f.exitcode}") for rank, f in sorted(e.failures.items())]
        why, rc = "; ".join(hows) or "a process failed", 1
    except SignalException as e:
        why, rc = f"torchrun was stopped (signal {int(e.sigval)})", 128 + int(e.sigval)
    print(f"arstudio train: {why}", file=sys.stderr)
    record_failure(Path(out), why)
    return rc


def record_failure(path: Path, why: str) -> None:
    """torchrun failed: a run still marked running/paused (its rank 0 could not say why)
    is marked failed; a run whose rank 0 recorded the reason is left as it is."""
    from arstudio.runs.folder import RunError, RunFolder
    from arstudio.runs.launch import _fail

    if not (path / "config.json").is_file():
        return
    try:
        run = RunFolder.open(path)
    except RunError:
        return
    if run.status().get("state") in ("running", "paused", "unknown"):
        _fail(run, f"a process of this distributed run died ({why}); the last checkpoint is kept")


def join(device: str = "auto"):
    """In a process torchrun started: join its process group (rank 0 keeps the console)."""
    import atexit
    import logging

    from arstudio.training.distributed import current, init_from_env, shutdown

    was = current().active
    ddp = init_from_env(device)
    if ddp.active and not was:
        atexit.register(shutdown)
        if not ddp.is_main:
            logging.getLogger("arstudio").setLevel(logging.WARNING)
    return ddp


def run_device(path) -> str:
    """The device a run trained on (config.json), for a resume's choice of backend."""
    from arstudio.runs.folder import RunError, RunFolder

    try:
        train = RunFolder(path).config().get("train") or {}
    except (RunError, OSError, ValueError):
        return "auto"
    return str(train.get("device", "auto")) if isinstance(train, dict) else "auto"
