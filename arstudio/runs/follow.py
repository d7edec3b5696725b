"""Follow a run folder as it grows: plain Python, no Qt.

The window polls a :class:`RunFollower` from a timer; each ``poll()`` reads
only the bytes appended to ``events.jsonl`` since the last call, so following
a long run costs the same per tick as a short one. The follower keeps the
curves and the latest figures (throughput, elapsed, ETA) the panels draw.
"""
from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from arstudio.runs.folder import RunFolder

FINISHED = ("done", "stopped", "failed")


@dataclass
class Curves:
    train_steps: list[int] = field(default_factory=list)
    train_bpd: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_bpd: list[float] = field(default_factory=list)


class RunFollower:
    """Incremental reader of one run folder."""

    def __init__(self, path):
        self.run = RunFolder.open(path)
        self.path = self.run.path
        self.config = self.run.config()
        self.curves = Curves()
        self._offset = 0
        self.started: dict | None = None
        self.done: dict | None = None
        self.error: str | None = None
        self.test_bpd: float | None = None
        self.step = 0
        train = self.config.get("train")
        if not isinstance(train, dict):  # a config of the wrong shape reads as no settings
            train = {}
        self._train = train
        self.closed_form = bool(train.get("closed_form"))  # one solve: no steps at all
        steps = train.get("steps")
        self.total_steps = 0 if self.closed_form or not isinstance(steps, int) else steps
        self.examples_per_s = 0.0
        self.elapsed = 0.0
        self.last_event_time: float | None = None
        self.sample_steps: list[int] = []
        self.version = 0  # bumps whenever anything new arrived; panels redraw only then

    # --- reading -------------------------------------------------------------------
    def poll(self) -> list[dict]:
        """Read what was appended since the last call; returns the new events."""
        events, self._offset = self.run.events(self._offset)
        bad = 0
        for e in events:
            try:
                self._apply(e)
            except (TypeError, ValueError, KeyError, OverflowError):
                bad += 1  # a field of the wrong type: that event is skipped, the rest still count
        if bad:
            import warnings

            warnings.warn(f"{self.path}: {bad} event(s) with fields of the wrong type skipped",
                          RuntimeWarning, stacklevel=2)
        if events:
            self.version += 1
        return events

    def _apply(self, e: dict) -> None:
        kind = e.get("event")
        self.last_event_time = e.get("time", self.last_event_time)
        if kind == "started":
            self.started = e
            self.total_steps = int(e.get("total_steps") or self.total_steps)
        elif kind == "step":
            self.step = int(e["step"])
            self.curves.train_steps.append(self.step)
            self.curves.train_bpd.append(float(e["bpd"]))
            self.examples_per_s = float(e.get("examples_per_s", 0.0))
            self.elapsed = float(e.get("elapsed", self.elapsed))
        elif kind == "eval":
            if e.get("split") == "val":
                self.curves.val_steps.append(int(e["step"]))
                self.curves.val_bpd.append(float(e["bpd"]))
            elif e.get("split") == "test":
                self.test_bpd = float(e["bpd"])
        elif kind == "samples":
            self.sample_steps.append(int(e["step"]))
        elif kind == "done":
            self.done = e
            self.elapsed = float(e.get("elapsed", self.elapsed))
            if e.get("test_bpd") is not None:
                self.test_bpd = float(e["test_bpd"])
        elif kind == "error":
            self.error = e.get("message", "training failed")
        elif kind == "continued":  # a resume: what was logged after its state is redone
            self._continue_from(int(e.get("step", 0)), int(e.get("total_steps") or self.total_steps))

    def _continue_from(self, step: int, total: int) -> None:
        c = self.curves
        keep = [i for i, s in enumerate(c.train_steps) if s <= step]
        c.train_steps, c.train_bpd = [c.train_steps[i] for i in keep], [c.train_bpd[i] for i in keep]
        keep = [i for i, s in enumerate(c.val_steps) if s <= step]
        c.val_steps, c.val_bpd = [c.val_steps[i] for i in keep], [c.val_bpd[i] for i in keep]
        self.sample_steps = [s for s in self.sample_steps if s <= step]
        self.step, self.total_steps = step, total
        self.done, self.error, self.test_bpd = None, None, None

    def status(self) -> dict:
        return self.run.status()

    # --- derived figures -------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.done is not None or self.error is not None

    def eta(self) -> float | None:
        """Seconds left at the current pace, or None before the first steps."""
        if self.finished or self.step <= 0 or self.elapsed <= 0 or not self.total_steps:
            return None
        return self.elapsed / self.step * max(0, self.total_steps - self.step)

    def sample_grids(self) -> list[tuple[int, Path]]:
        return self.run.sample_grids()

    def parameters(self) -> int | None:
        n = self.config.get("parameters")
        return n if isinstance(n, int) and not isinstance(n, bool) else None

    def device(self) -> str:
        if self.started:
            return self.started.get("device", "?")
        return str(self.run.status().get("device", self._train.get("device", "?")))

    def worker_alive(self) -> bool | None:
        """Whether the pid in status.json still runs (None when unknown), for runs
        the window did not start itself, e.g. reopened after leaving them running.
        A run written on another host (status.json's ``host``) is unknown here: it is
        followed as it grows (a shared or synced folder) until its status says it ended."""
        status = self.run.status()
        pid = status.get("pid")
        if not pid or status.get("host") not in (None, socket.gethostname()):
            return None
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OSError, ValueError, TypeError, OverflowError):
            return None
        return True


def summarize(path) -> dict:
    """One row of the compare table: read a whole run once."""
    f = RunFollower(path)
    f.poll()
    cfg = f.config
    return {
        "name": f.path.name, "path": str(f.path), "model": str(cfg.get("model", "?")),
        "dataset": str(cfg.get("dataset", "?")), "test_bpd": f.test_bpd,
        "val_bpd": f.curves.val_bpd[-1] if f.curves.val_bpd else None,
        "parameters": f.parameters(), "time_s": f.elapsed, "device": f.device(),
        "state": str(f.status().get("state", "unknown")), "curves": f.curves,
    }


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

