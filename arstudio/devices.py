"""Which compute device to use: CUDA, Apple MPS or the CPU."""
from __future__ import annotations

import torch


def available_devices() -> list[str]:
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` takes the first of CUDA, MPS, CPU; an unavailable choice says so."""
    if name == "auto":
        return torch.device(available_devices()[0])
    kind = name.split(":")[0]
    if kind not in available_devices():
        raise ValueError(f"device {name!r} is not available here; found: {', '.join(available_devices())}")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
