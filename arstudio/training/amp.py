"""Speed settings of a training run: mixed precision, torch.compile, channels-last.

``resolve(config, model, device)`` turns the trainer's settings into what this run does
(recorded in config.json as ``speed``):

- ``precision``: ``auto`` = bf16 autocast on a CUDA GPU that supports it
  (``torch.cuda.is_bf16_supported()``), fp16 autocast with a gradient scaler
  (``torch.amp.GradScaler``) on an older CUDA GPU, fp32 on the CPU and MPS. ``bf16`` /
  ``fp16`` / ``fp32`` ask for one on any device (bf16 on a CUDA GPU without it is refused).
  Only the training step's forward runs under autocast; validation and test scores
  (``evaluate``) and the divergence check stay fp32.
- ``compile``: ``off``, or a ``torch.compile`` mode (``default``, ``reduce-overhead``,
  ``max-autotune``) of the training step's loss (the DDP module under torchrun), or a
  debugging backend (``eager``, ``aot_eager``). Checkpoints keep the unwrapped model, so
  their names never carry ``_orig_mod.``.
- ``channels_last``: the model's 4-D weights and the image batches in
  ``torch.channels_last``; applied only to models with 4-D (2-D convolution) weights; a no-op for others.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch

from arstudio.train_config import COMPILE_BACKENDS, COMPILES, PRECISIONS  # noqa: F401  (checked there)


def _bf16_on(device: torch.device) -> bool:
    return device.type != "cuda" or torch.cuda.is_bf16_supported()


def precision_for(config, device: torch.device) -> str:
    """fp32, bf16 or fp16: what ``config.precision`` means on ``device``."""
    p = config.precision
    if p == "auto":
        if device.type != "cuda" or not config.bf16:  # bf16=False (older runs): full precision
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if p == "bf16" and not _bf16_on(device):
        raise ValueError(f"this GPU ({torch.cuda.get_device_name(device)}) has no bf16; "
                         "use precision fp16 (with a gradient scaler) or auto")
    return p


def has_conv2d(model) -> bool:
    """2-D convolution weights (out, in, kh, kw), whichever module holds them (nn.Conv2d, or a
    masked or causal convolution calling F.conv2d): what channels-last lays out differently."""
    return any(p.dim() == 4 for p in model.parameters())


def resolve(config, model, device: torch.device) -> dict:
    """What the run does: ``{"precision", "grad_scaler", "compile", "channels_last"}``."""
    precision = precision_for(config, device)
    return {"precision": precision, "grad_scaler": precision == "fp16", "compile": config.compile,
            "channels_last": bool(config.channels_last and has_conv2d(model))}


def autocast(speed: dict, device: torch.device):
    """The training forward's context: autocast at the run's precision, or nothing."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(speed["precision"])
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def grad_scaler(speed: dict, device: torch.device):
    """``torch.amp.GradScaler`` for fp16 (its gradients underflow without one), else None."""
    return torch.amp.GradScaler(device.type) if speed["grad_scaler"] else None


def compiled(fn, speed: dict):
    """``fn`` (the loss callable) through ``torch.compile`` when asked."""
    mode = speed["compile"]
    if mode == "off":
        return fn
    if mode in COMPILE_BACKENDS:
        return torch.compile(fn, backend=mode)
    return torch.compile(fn, mode=None if mode == "default" else mode)


def to_channels_last(model, speed: dict):
    if speed["channels_last"]:
        model.to(memory_format=torch.channels_last)
    return model


def batch_layout(x: torch.Tensor, speed: dict) -> torch.Tensor:
    if speed["channels_last"] and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
