"""DataSpec: what a model is asked to model.

Images are ``(C, H, W)``, sequences ``(T,)`` and plain vectors ``(D,)``.
``levels`` is 2 for binary data, K for K-level categorical data and ``None``
for real-valued data. Discrete data travel as integer tensors holding
``0 .. levels-1``; real-valued data as float tensors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MODALITIES = ("image", "sequence", "vector")


@dataclass(frozen=True)
class DataSpec:
    shape: tuple[int, ...]
    levels: int | None = 2
    # "image" for (C,H,W), "sequence" for (T,), "vector" for (D,); inferred
    # from the shape when left out (a 1-D shape defaults to "sequence").
    modality: str | None = None

    def __post_init__(self):
        shape = tuple(int(s) for s in self.shape)
        object.__setattr__(self, "shape", shape)
        if any(s < 1 for s in shape):
            raise ValueError(f"DataSpec shape must be positive, got {shape}")
        if self.levels is not None and int(self.levels) < 2:
            raise ValueError(f"levels must be >= 2 or None, got {self.levels}")
        modality = self.modality or ("image" if len(shape) == 3 else "sequence")
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
        if modality == "image" and len(shape) != 3:
            raise ValueError(f"an image spec needs shape (C, H, W), got {shape}")
        if modality != "image" and len(shape) != 1:
            raise ValueError(f"a {modality} spec needs a 1-D shape, got {shape}")
        object.__setattr__(self, "modality", modality)

    @property
    def num_dims(self) -> int:
        return math.prod(self.shape)

    @property
    def discrete(self) -> bool:
        return self.levels is not None

    @property
    def binary(self) -> bool:
        return self.levels == 2

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "levels": self.levels, "modality": self.modality}

    @classmethod
    def from_dict(cls, d: dict) -> DataSpec:
        return cls(tuple(d["shape"]), d.get("levels"), d.get("modality"))

    def describe(self) -> str:
        dims = "×".join(str(s) for s in self.shape)
        kind = "real-valued" if self.levels is None else (
            "binary" if self.levels == 2 else f"{self.levels}-level")
        return f"{kind} {self.modality} {dims}"


def bits_per_dim(nats: float, num_dims: int) -> float:
    """The one metric shown everywhere: nats / (num_dims * ln 2)."""
    return float(nats) / (num_dims * math.log(2.0))
