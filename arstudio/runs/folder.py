"""A run is a folder; this module is its only reader and writer.

::

    RUN/
      config.json         model, data, hyper-parameters, seed, versions
      events.jsonl        one JSON object per line (see training/events.py)
      status.json         state: running | paused | done | failed | stopped, pid, message
      control.json        written by the window: {"action": "pause" | "resume" | "stop"}
      samples/step_000250.png (+ .npy)
      checkpoints/step_000500.safetensors, final.safetensors
      checkpoints/train_state.safetensors   the latest resumable state (optimizer, RNG, step)
      checkpoints/ema.safetensors          the weights' moving average, when trained with ema

Everything is written atomically or appended line by line, so a window
following the folder (or a crash mid-write) never sees half a file, and the
last good checkpoint always loads.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from arstudio.atomic import atomic_write


class RunError(Exception):
    """A folder that is not a readable run; the message says why."""


def _write_json(path: Path, data) -> None:
    text = json.dumps(data, indent=2)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


class RunFolder:
    def __init__(self, path):
        self.path = Path(path)

    # --- layout -----------------------------------------------------------------
    @property
    def config_path(self):
        return self.path / "config.json"

    @property
    def events_path(self):
        return self.path / "events.jsonl"

    @property
    def samples_dir(self):
        return self.path / "samples"

    @property
    def checkpoints_dir(self):
        return self.path / "checkpoints"

    @classmethod
    def create(cls, path, config: dict) -> RunFolder:
        run = cls(path)
        taken = f"{run.path} already holds a run (another worker?); choose another --out folder"
        if run.config_path.exists():
            raise RunError(taken)
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunError(f"{run.path} is a file, not a folder") from None
        # config.json is claimed exclusively: written to a temp file, then hard-linked into
        # place, which fails if it exists, so of two workers started at the same instant on
        # the same folder exactly one goes on
        text = json.dumps(config, indent=2)
        tmp = run.path / f".config.json.{os.getpid()}.{time.monotonic_ns()}.tmp"
        tmp.write_text(text)
        try:
            os.link(tmp, run.config_path)
        except FileExistsError:
            raise RunError(taken) from None
        finally:
            tmp.unlink(missing_ok=True)
        run.samples_dir.mkdir(parents=True, exist_ok=True)
        run.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        run.events_path.touch()
        run.set_status("running")
        return run

    def rewrite_config(self, config: dict) -> None:
        """A resumed run with new settings (more steps, another device) records them."""
        _write_json(self.config_path, config)

    @classmethod
    def open(cls, path) -> RunFolder:
        run = cls(path)
        if not run.path.is_dir():
            raise RunError(f"{run.path}: no such folder")
        if not run.config_path.is_file():
            raise RunError(f"{run.path}: not a run folder (no config.json)")
        try:
            run.config()
        except (ValueError, OSError) as e:
            raise RunError(f"{run.config_path}: unreadable ({e})") from None
        return run

    # --- writing --------------------------------------------------------------------
    def append_event(self, event: dict) -> None:
        line = json.dumps({**event, "time": time.time()}) + "\n"
        with open(self.events_path, "a") as f:
            f.write(line)
            f.flush()

    def set_status(self, state: str, message: str = "", **extra) -> None:
        _write_json(self.path / "status.json", {"state": state, "message": message, "pid": os.getpid(),
                                                "updated": time.time(), **extra})

    def save_samples(self, step: int, samples, spec) -> Path:
        from arstudio.imaging import samples_png

        base = self.samples_dir / f"step_{step:06d}"
        arr = samples.numpy()
        def write_npy(tmp):
            with open(tmp, "wb") as f:
                np.save(f, arr, allow_pickle=False)

        atomic_write(base.with_suffix(".npy"), write_npy)
        return samples_png(samples, spec, base.with_suffix(".png"))

    def save_checkpoint(self, model, step: int, metrics: dict, final: bool = False,
                        data_facts: dict | None = None, name: str | None = None) -> Path:
        """``data_facts``: what a checkpoint needs to be used without its dataset
        (an audio model's sample rate, the names of its labels)."""
        from arstudio.checkpoint import save_checkpoint

        if name is None:
            name = "final" if final else f"step_{step:06d}"
        name = f"{name}.safetensors"
        cfg = self.config()
        extra = {**(data_facts or {}), "step": step, "metrics": metrics, "dataset": cfg.get("dataset"),
                 "train": cfg.get("train"), "run": self.path.name}
        return save_checkpoint(model, self.checkpoints_dir / name, extra=extra)

    def request(self, action: str) -> None:
        """The window asks the worker to pause, resume or stop."""
        if action not in ("pause", "resume", "stop"):
            raise ValueError(action)
        _write_json(self.path / "control.json", {"action": action, "time": time.time()})

    def clear_request(self) -> None:
        (self.path / "control.json").unlink(missing_ok=True)

    def pending_action(self) -> str | None:
        try:
            return json.loads((self.path / "control.json").read_text()).get("action")
        except (OSError, ValueError):
            return None

    # --- reading ------------------------------------------------------------------------
    def config(self) -> dict:
        return json.loads(self.config_path.read_text())

    def status(self) -> dict:
        try:
            return json.loads((self.path / "status.json").read_text())
        except (OSError, ValueError):
            return {"state": "unknown", "message": ""}

    def events(self, start: int = 0) -> tuple[list[dict], int]:
        """Whole lines appended since byte offset ``start``; returns (events, new offset)."""
        try:
            with open(self.events_path, "rb") as f:
                f.seek(start)
                data = f.read()
        except OSError:
            return [], start
        end = data.rfind(b"\n") + 1  # a line still being written waits for next time
        out = []
        for line in data[:end].splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a damaged line does not hide the rest of the run
        return out, start + end

    def checkpoints(self) -> list[Path]:
        """Checkpoints by step; final last."""
        files = sorted(self.checkpoints_dir.glob("step_*.safetensors"))
        final = self.checkpoints_dir / "final.safetensors"
        return files + ([final] if final.exists() else [])

    def latest_checkpoint(self) -> Path | None:
        ckpts = self.checkpoints()
        return ckpts[-1] if ckpts else None

    def sample_grids(self) -> list[tuple[int, Path]]:
        return [(int(p.stem.split("_")[1]), p) for p in sorted(self.samples_dir.glob("step_*.png"))]
