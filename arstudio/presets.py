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
    # fully-visible vector models (issue 3): short CPU runs on the 8×8 binary digits
    "fvsbn-digits-binary": Preset(
        "fvsbn", "digits-binary", {},
        {"steps": 1000, "batch_size": 64, "lr": 1e-2, "eval_every": 100},
        published="FVSBN ≈ 97 nats (full binarized MNIST)"),
    "nade-digits-binary": Preset(
        "nade", "digits-binary", {"hidden": 500},
        {"steps": 1000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="NADE 88.3 nats (full binarized MNIST)"),
    "made-digits-binary": Preset(
        "made", "digits-binary", {"hidden": [500]},
        {"steps": 1000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="MADE 1 mask 88.0, 32 masks 86.6 nats (full binarized MNIST)"),
    "deepnade-digits-binary": Preset(
        "deepnade", "digits-binary", {"hidden": [500, 500]},
        {"steps": 1000, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
        published="EoNADE 2hl 85.1 nats (full binarized MNIST, ensemble of orderings)"),
    "masde-digits-binary": Preset(
        "masde", "digits-binary", {"hidden": [500], "radius": 2},
        {"steps": 1000, "batch_size": 64, "lr": 1e-2, "eval_every": 100}),
    "mlp-arm-digits-binary": Preset(
        "mlp-arm", "digits-binary", {"memory": 9, "hidden": 256},
        {"steps": 1000, "batch_size": 64, "lr": 3e-3, "eval_every": 100}),
    "rnade-moons": Preset(
        "rnade", "moons", {"hidden": 50, "components": 5},
        {"steps": 2000, "batch_size": 128, "lr": 3e-3, "eval_every": 200, "sample_every": 0}),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
