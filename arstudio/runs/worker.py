"""Naming and starting runs: the one place that picks a run folder and starts a
training worker process. The window and ``arstudio train`` both name runs with
:func:`new_run_path`; the window starts ``python -m arstudio train ... --out RUN``
with :func:`start_worker` (its own session, so it may outlive the window, and a
lower priority, so the window stays responsive). No Qt, no torch.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from arstudio.paths import ROOT
from arstudio.values import format_value


def runs_root() -> Path:
    """Where new runs go: ``$ARSTUDIO_RUNS``, else ``./runs``."""
    return Path(os.environ.get("ARSTUDIO_RUNS", "runs")).resolve()


def run_name(model: str, data: str, when: float | None = None) -> str:
    """``MODEL-DATA-YYYYmmdd-HHMMSS``; a data name with a path (``text:/x/a.txt``)
    gives its prefix and file name (``text-a.txt``), never a path."""
    prefix, sep, path = data.partition(":")
    if sep:
        data = f"{prefix}-{Path(path.rstrip('/')).name or 'files'}"
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", f"{model}-{data}")
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}"


def new_run_path(model: str, data: str, root: Path | None = None, when: float | None = None) -> Path:
    """A new run folder's path under ``root`` (default :func:`runs_root`), not yet
    created; a name already taken gets ``+`` appended."""
    out = (Path(root) if root is not None else runs_root()) / run_name(model, data, when)
    while out.exists():
        out = out.with_name(out.name + "+")
    return out


def worker_command(model: str, data: str, settings: dict, train: dict, out: Path) -> list[str]:
    """The exact CLI line the window runs; also what a lecturer could type.
    A closed-form fit takes no steps, so it gets no steps, batch size, learning rate,
    window or label dropout."""
    cmd = [sys.executable, "-m", "arstudio", "train", "--model", model, "--data", data,
           "--out", str(out), "--quiet"]
    fit = bool(train.get("closed_form"))
    for key in ("device",) if fit else ("steps", "batch_size", "lr", "device"):
        if key in train:
            cmd += [f"--{key.replace('_', '-')}", str(train[key])]
    for key in ("closed_form",) if fit else ("crop", "label_dropout"):
        if key in train:  # sequence and label settings: only where they apply (see gui/train_options.py)
            cmd += ["--train-set", f"{key}={train[key]}"]
    if not fit and int(train.get("processes") or 1) > 1:  # torchrun + DDP (arstudio/runs/torchrun.py)
        cmd += ["--nproc-per-node", str(int(train["processes"]))]
    every = train.get("snapshot_every")
    if every:
        for key in ("eval_every", "sample_every", "checkpoint_every"):
            cmd += ["--train-set", f"{key}={every}"]
        cmd += ["--train-set", f"log_every={max(1, min(10, every // 5))}"]
    for key, value in settings.items():
        cmd += ["--set", f"{key}={format_value(value)}"]
    return cmd


def lower_priority(pid: int) -> None:
    """The worker yields the CPU to the window when both want it (nice 10 on POSIX);
    set from the parent rather than by a preexec_fn, which is unsafe with threads."""
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, pid, 10)
        except OSError:
            pass


def start_worker(cmd: list[str], out: Path) -> subprocess.Popen:
    """Start ``cmd`` (from :func:`worker_command`) as a detached process writing
    ``out/worker.log``; this checkout's code comes first on its path. OSError if it
    cannot start."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
    with open(Path(out) / "worker.log", "wb") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    lower_priority(process.pid)
    return process
