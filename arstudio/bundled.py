"""The pretrained models that ship in models/: ready to demo with no training."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arstudio.checkpoint import CheckpointError, read_metadata
from arstudio.paths import BUNDLED_MODELS


@dataclass(frozen=True)
class BundledModel:
    key: str  # file stem, e.g. "pixelcnn-digits"
    path: Path
    model: str
    dataset: str
    metadata: dict

    @property
    def title(self) -> str:
        m = self.metadata.get("metrics", {})
        bpd = m.get("test_bpd")
        return f"{self.model} · {self.dataset}" + (f" · {bpd:.3f} bits/dim" if bpd is not None else "")


def list_bundled(folder: Path = BUNDLED_MODELS) -> list[BundledModel]:
    out = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        try:
            meta = read_metadata(path)
        except CheckpointError:
            continue  # a damaged file is reported when opened, not listed
        out.append(BundledModel(path.stem, path, meta["model"], meta.get("dataset", "?"), meta))
    return out
