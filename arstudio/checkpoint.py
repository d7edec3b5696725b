"""Checkpoints: safetensors weights with the model's JSON metadata in the header.

One file holds everything needed to rebuild the model with the current code:
registry name, DataSpec, config and whatever the trainer adds (step, metrics,
dataset). Nothing is ever unpickled, so opening a stranger's file is safe.
Writes are atomic (temp file, fsync, rename): a crash mid-save leaves the
previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

FORMAT = "arstudio-checkpoint/1"


class CheckpointError(Exception):
    """A checkpoint that cannot be read or rebuilt; the message says why."""


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then fsync and rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; saved files should read like any other
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
    except OSError:
        pass


def checkpoint_metadata(model, extra: dict | None = None) -> dict:
    import arstudio

    return {
        "format": FORMAT,
        "model": model.registry_name,
        "spec": model.spec.to_dict(),
        "config": model.config_dict(),
        "parameters": model.num_parameters(),
        "versions": {"arstudio": arstudio.__version__, "torch": torch.__version__},
        **(extra or {}),
    }


def save_checkpoint(model, path, extra: dict | None = None) -> Path:
    path = Path(path)
    meta = checkpoint_metadata(model, extra)
    # clone: safetensors refuses tensors that share storage
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"arstudio": json.dumps(meta)}))
    return path


def read_metadata(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n <= 0 or n > 100_000_000:
                raise ValueError("bad header length")
            header = json.loads(f.read(n))
        meta = json.loads(header["__metadata__"]["arstudio"])
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise CheckpointError(f"{path}: not an ARStudio checkpoint (unreadable header: {e})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unsupported checkpoint format {meta.get('format')!r}")
    return meta


def load_checkpoint(path, device: str | torch.device = "cpu"):
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    from arstudio.models.registry import build_model
    from arstudio.spec import DataSpec

    meta = read_metadata(path)
    try:
        model = build_model(meta["model"], DataSpec.from_dict(meta["spec"]), **meta["config"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: cannot rebuild model {meta.get('model')!r}: {e}") from None
    try:
        state = load_file(str(path), device="cpu")
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as e:
        raise CheckpointError(f"{path}: weights are damaged or do not fit the model: {e}") from None
    model.checkpoint_meta = meta
    return model.to(device).eval()
