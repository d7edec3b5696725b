"""training_options(model) offers exactly what the trainer accepts, for every registered
model on every kind of data it supports (the Train tab shows its rows from it)."""
from __future__ import annotations

import math

import pytest

from arstudio.data import list_datasets
from arstudio.models.registry import build_model, list_models
from arstudio.training.options import default_window, training_options
from arstudio.training.trainer import TrainConfig, check_augment

TRIED = {"crop": 64, "label_dropout": 0.1, "closed_form": True}


def one_spec_per_modality(info):
    """The smallest registered dataset spec of each modality the model supports."""
    found = {}
    for d in sorted(list_datasets(), key=lambda d: math.prod(d.spec.shape)):
        if info.supports(d.spec):
            found.setdefault(d.spec.modality, d.spec)
    return list(found.values())


@pytest.mark.parametrize("info", list_models(), ids=lambda i: i.name)
def test_options_match_the_trainer(info):
    for spec in one_spec_per_modality(info):
        for labels in ({}, {"num_labels": 3}) if "num_labels" in info.config.__dataclass_fields__ else ({},):
            model = build_model(info.name, spec, **{**info.presets.get("tiny", {}), **labels})
            options = training_options(model)
            for key, value in TRIED.items():
                if options[key]:
                    check_augment(model, TrainConfig(**{key: value}))
                else:
                    with pytest.raises(ValueError):
                        check_augment(model, TrainConfig(**{key: value}))


def test_default_window():
    specs = {d.name: d.spec for d in list_datasets()}
    assert default_window(specs["tones"]) == 256  # 2048 steps: windows
    assert default_window(specs["text"]) == 0  # 128 characters: whole
    assert default_window(specs["digits"]) == 0 and default_window(None) == 0
