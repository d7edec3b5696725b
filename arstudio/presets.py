"""Training presets: one reproducible recipe per bundled model.

``arstudio train --preset pixelcnn-digits`` trains exactly what
``models/pixelcnn-digits.safetensors`` was trained with; its model card
records the result. A preset names the model, its default dataset, the model
settings and the trainer settings; nothing else decides the outcome (the seed
is part of the trainer settings).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    model: str
    dataset: str
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    published: str = ""  # a literature figure for orientation, with its data set


PRESETS: dict[str, Preset] = {
    "pixelcnn-digits": Preset(
        "pixelcnn", "digits", {"channels": 32, "blocks": 4},
        {"steps": 3000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="causal-conv ARM ≈ 89 nats (val, same split)"),
    "pixelcnn-mnist5k-binary": Preset(
        "pixelcnn", "mnist5k-binary", {"channels": 64, "blocks": 7},
        {"steps": 4000, "batch_size": 64, "lr": 1e-3, "eval_every": 250},
        published="PixelCNN 81.3 nats (full binarized MNIST, 60k train)"),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
