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
import socket
import time
import warnings
from pathlib import Path

import numpy as np

from arstudio.atomic import atomic_write


class RunError(Exception):
    """A folder that is not a readable run; the message says why."""


ACTIONS = ("pause", "resume", "stop")
MAX_CONTROL_BYTES = 4096  # control.json is a few bytes; a bigger one is ignored, not read
MAX_STATUS_BYTES = 1 << 20
RESERVE_BYTES = 256 * 1024  # kept free in each run so a full disk can still record why it failed


def _warn(text: str) -> None:
    warnings.warn(" ".join(text.split())[:300], RuntimeWarning, stacklevel=3)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, ValueError, OverflowError):
        return True
    return True


def clean_dead_temp_files(folder: Path) -> int:
    """Remove the temp files (``.NAME.PID.*.tmp``, from atomic writes) that a writer killed
    mid-write left behind; a live writer's are kept. Returns how many were removed."""
    removed = 0
    for d in (folder, folder / "checkpoints", folder / "samples"):
        try:
            candidates = [p for p in d.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
        except OSError:
            continue
        for p in candidates:
            pid = next((int(part) for part in p.name.split(".") if part.isdigit() and len(part) < 9), None)
            try:
                old = time.time() - p.stat().st_mtime > 3600
            except OSError:
                continue
            if (pid is not None and not _pid_alive(pid)) or (pid is None and old):
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed


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
        clean_dead_temp_files(run.path)
        return run

    # --- writing --------------------------------------------------------------------
    def append_event(self, event: dict) -> None:
        """One whole line or nothing: a write that fails (a full disk) is cut back off, so
        the log never ends in a torn line."""
        data = (json.dumps({**event, "time": time.time()}) + "\n").encode()
        fd = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except OSError:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)

    # --- room to fail in ---------------------------------------------------------------
    @property
    def reserve_path(self):
        return self.path / ".reserve"

    def reserve_space(self) -> None:
        """Hold RESERVE_BYTES on disk; :meth:`release_space` frees them when the disk is full,
        so status.json, the last event and error.log can still be written."""
        try:
            with open(self.reserve_path, "wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
        except OSError:
            self.reserve_path.unlink(missing_ok=True)

    def release_space(self) -> None:
        try:
            self.reserve_path.unlink(missing_ok=True)
        except OSError:
            pass

    def set_status(self, state: str, message: str = "", **extra) -> None:
        # the host beside the pid: a run written on another machine (a cluster, a synced
        # folder) is not judged by whether that pid runs here
        _write_json(self.path / "status.json", {"state": state, "message": message, "pid": os.getpid(),
                                                "host": socket.gethostname(), "updated": time.time(), **extra})

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
        """The window's last request. control.json is read only when its size or mtime
        changed and only when it is small; a file that is garbage, the wrong type or too big
        is ignored with a warning and the last valid request stays (so a paused run stays
        paused until an explicit resume). A file that vanishes also changes nothing."""
        path = self.path / "control.json"
        last = getattr(self, "_control", (None, None))
        try:
            st = path.stat()
        except OSError:
            return last[1]
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if key == last[0]:
            return last[1]
        action = last[1]
        if st.st_size > MAX_CONTROL_BYTES:
            _warn(f"{path}: {st.st_size} bytes, not a request; ignored")
        else:
            try:
                data = json.loads(path.read_bytes())
                if not isinstance(data, dict) or data.get("action") not in ACTIONS:
                    raise ValueError(f"no action among {ACTIONS}")
                action = data["action"]
            except (OSError, ValueError, RecursionError) as e:
                _warn(f"{path}: ignored ({e})")
        self._control = (key, action)
        return action

    # --- reading ------------------------------------------------------------------------
    def config(self) -> dict:
        try:
            data = json.loads(self.config_path.read_text())
        except RecursionError:
            raise ValueError("nested too deeply") from None
        if not isinstance(data, dict):
            raise ValueError(f"holds a JSON {type(data).__name__}, not an object")
        return data

    def status(self) -> dict:
        """status.json as a dict with a string ``state``; anything else reads as unknown
        (with a warning)."""
        path = self.path / "status.json"
        try:
            if path.stat().st_size > MAX_STATUS_BYTES:
                raise ValueError("too big")
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {"state": "unknown", "message": ""}
        except (OSError, ValueError, RecursionError) as e:
            _warn(f"{path}: unreadable ({e})")
            return {"state": "unknown", "message": ""}
        if not isinstance(data, dict) or not isinstance(data.get("state", ""), str) \
                or not isinstance(data.get("message", ""), str):
            _warn(f"{path}: not a status object; ignored")
            return {"state": "unknown", "message": ""}
        return data

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
        skipped = 0
        for line in data[:end].splitlines():
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                event = None
            if isinstance(event, dict):
                out.append(event)
            elif line.strip():
                skipped += 1  # a damaged line does not hide the rest of the run
        if skipped:
            _warn(f"{self.events_path}: {skipped} line(s) that are not events skipped")
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
