"""The model registry: ``MODELS[name] -> ModelInfo``.

Each model family lives in its own module in this package and registers
itself with :func:`register_model`; :func:`load_all` imports every module of
the package, so adding a file is all it takes for a model to reach the CLI,
the studio and the shared contract tests.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from arstudio.discovery import import_submodules

MODELS: dict[str, ModelInfo] = {}
_NOT_MODELS = {"registry", "base", "steppers"}


@dataclass(frozen=True)
class Family:
    """A group of models in the picker, with the data its members build on (a member may
    narrow or widen that with its own ``modalities``)."""

    name: str
    modalities: tuple[str, ...]


# one declaration per family: a model names its family object, so a family's name and data
# kinds cannot drift apart between its members
VECTOR_MODELS = Family("Fully-visible vector models", ("vector", "sequence", "image"))
PIXELCNN_FAMILY = Family("PixelCNN family", ("image",))
PIXELRNN_FAMILY = Family("PixelRNN family", ("image",))
ATTENTION_MODELS = Family("Attention models", ("image",))
LATENT_MODELS = Family("Latent models", ("image",))
SEQUENCE_MODELS = Family("Sequence models", ("sequence", "vector"))
DOCUMENT_MODELS = Family("Document models", ("sequence",))


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str  # e.g. "PixelCNN family", "Fully-visible vector models"
    cls: type
    config: type  # frozen dataclass of hyper-parameters
    modalities: tuple[str, ...]  # which DataSpec modalities it builds on
    paper: str  # "Authors, Title, Venue Year"
    summary: str = ""  # one paragraph for the picker
    factorisation: str = ""  # e.g. "p(x) = prod_i p(x_i | x_<i), raster order"
    # True: discrete data only; False: real-valued only; None: both
    discrete: bool | None = True
    presets: dict = field(default_factory=dict)  # name -> config overrides

    def supports(self, spec) -> bool:
        if spec.modality not in self.modalities:
            return False
        return self.discrete is None or self.discrete == spec.discrete

    def build(self, spec, **config):
        return build_model(self.name, spec, **config)


def register_model(name, *, family: Family, paper, modalities=None, summary="", factorisation="",
                   discrete=True, presets=None):
    """Class decorator: the class must define a nested frozen dataclass ``Config``.
    ``modalities`` defaults to the family's."""

    def deco(cls):
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        kinds = tuple(family.modalities if modalities is None else modalities)
        MODELS[name] = ModelInfo(name, family.name, cls, cls.Config, kinds, paper,
                                 summary, factorisation, discrete, dict(presets or {}))
        cls.registry_name = name
        return cls

    return deco


def load_all() -> dict[str, ModelInfo]:
    import arstudio.models as pkg

    import_submodules(pkg, _NOT_MODELS)
    return MODELS


def list_models():
    return sorted(load_all().values(), key=lambda i: (i.family, i.name))


def get_model_info(name: str) -> ModelInfo:
    models = load_all()
    if name not in models:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(models))}")
    return models[name]


def make_config(info: ModelInfo, **overrides):
    fields = {f.name: f for f in dataclasses.fields(info.config)}
    # settings renamed since (old run configs, recipes): the model's config_renames
    overrides = {info.cls.config_renames.get(k, k): v for k, v in overrides.items()}
    unknown = set(overrides) - set(fields)
    if unknown:
        raise ValueError(f"{info.name} has no setting(s) {sorted(unknown)}; it has {sorted(fields)}")
    from arstudio.config_check import check_settings

    # JSON (checkpoints, run configs) turns tuples such as hidden=(500, 500) into lists: the check
    # takes a list for a tuple; a value of the wrong type is one error naming the setting
    overrides = {k: _as_tuple(v) if isinstance(fields[k].default, tuple) else v
                 for k, v in overrides.items()}  # hidden=500 or "500,500" (the CLI's text)
    overrides = check_settings(info.config, overrides, f"{info.name} setting")
    for name, value in overrides.items():
        _check_value(info.name, name, value, fields[name].default)
    return info.config(**overrides)


def _as_tuple(v):
    """A tuple setting as typed: 500 is (500,), "500,500" is (500, 500); anything else is left
    for the type check to name."""
    if type(v) is int:
        return (v,)
    if isinstance(v, str):
        try:
            return tuple(int(h) for h in v.strip("[]() ").replace(" ", "").split(",") if h)
        except ValueError:
            return v
    return v


MAY_BE_ZERO = ("layers", "resnets", "residuals", "downsample")  # counts of blocks: 0 = none
MAX_SETTING_INT = 2 ** 31  # any whole number in a model's settings (as a checkpoint allows)


def _check_value(model: str, name: str, value, default) -> None:
    """Numbers a model is built from: whole numbers are never negative, widths and counts
    whose default is positive are at least 1 (a block count may be 0), floats are finite.
    A model of zero or negative width builds in torch and trains to nothing."""
    import math

    def refuse(why):
        raise ValueError(f"{model} setting {name!r} {why}, got {value!r}")

    items = value if isinstance(value, tuple) else (value,)
    for v in items:
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            floor = 1 if (isinstance(default, tuple) or (isinstance(default, int) and default >= 1
                                                        and name not in MAY_BE_ZERO)) else 0
            if v < floor:
                refuse(f"must be at least {floor}")
            if v > MAX_SETTING_INT:
                refuse(f"must be at most {MAX_SETTING_INT:,}")
        elif isinstance(v, float) and not math.isfinite(v):
            refuse("must be finite")


def build_model(name: str, spec, **config):
    """Build a registered model for ``spec`` with config overrides."""
    info = get_model_info(name)
    if not info.supports(spec):
        kind = "discrete" if info.discrete else "real-valued"
        raise ValueError(f"{name} does not model {spec.describe()} data "
                         f"(it takes {kind} {'/'.join(info.modalities)} data)")
    return info.cls(spec, make_config(info, **config))
