"""Training recipes as TOML: ``arstudio train --config recipe.toml`` and the
Train tab's Save recipe… / Load recipe….

::

    out = "runs/pets"            # optional: the run folder

    [model]
    name = "gated-pixelcnn"      # a registered model (arstudio models)
    channels = 32                # its settings (arstudio train --help lists the trainer's)
    num_labels = 2

    [data]
    name = "images:/home/me/pets"  # a dataset or PREFIX:PATH (arstudio datasets)
    size = "16x16"               # the data options its prefix takes
    levels = 2

    [train]                      # trainer settings (TrainConfig)
    steps = 1500
    lr = 1e-3

Every key is checked before anything is built: an unknown key or a value of
the wrong type is one :class:`~arstudio.config_check.SettingsError` naming the
key and listing the valid ones. No torch at import.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from arstudio.config_check import SettingsError, check_settings, unknown_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

TOP_KEYS = ("out", "model", "data", "train")


@dataclass
class Recipe:
    model: str
    data: str  # the data's name with its options inside (arstudio.data.registry.data_ref)
    model_config: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # checked TrainConfig fields
    out: str | None = None


def _table(doc: dict, key: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise SettingsError(f"'{key}' must be a table ([{key}]), got {value!r}")
    return dict(value)


def check_recipe(doc: dict, where: str = "recipe") -> Recipe:
    """A parsed TOML document as a checked :class:`Recipe`; errors start with ``where``."""
    try:
        return _check(doc)
    except SettingsError as e:
        raise SettingsError(f"{where}: {e}") from None


def _check(doc: dict) -> Recipe:
    from arstudio.data.registry import PREFIXES, data_ref, load_all, split_ref
    from arstudio.models.registry import get_model_info
    from arstudio.models.registry import load_all as load_models

    for key in doc:
        if key not in TOP_KEYS:
            raise unknown_key(key, TOP_KEYS, "recipe key")
    out = doc.get("out")
    if out is not None and not isinstance(out, str):
        raise SettingsError(f"'out' must be a string (a folder), got {out!r}")
    model_t, data_t, train_t = (_table(doc, k) for k in ("model", "data", "train"))
    name = model_t.pop("name", None)
    if not isinstance(name, str):
        raise SettingsError(f"[model] needs name = \"MODEL\" (one of {', '.join(sorted(load_models()))})")
    try:
        info = get_model_info(name)
    except KeyError as e:
        raise SettingsError(f"[model] {e.args[0]}") from None
    model_t = {info.cls.config_renames.get(k, k): v for k, v in model_t.items()}  # older names
    model_config = check_settings(info.config, model_t, f"{name} setting")
    data_name = data_t.pop("name", None)
    if not isinstance(data_name, str):
        raise SettingsError("[data] needs name = \"DATASET\" or \"PREFIX:PATH\"")
    base, in_name = split_ref(data_name)
    options = {**in_name, **data_t}
    sets = load_all()
    prefix, sep, _ = base.partition(":")
    if base in sets:
        if options:
            raise SettingsError(f"dataset {base!r} takes no options; got "
                                f"{', '.join(sorted(options))}")
    elif sep and prefix in PREFIXES:
        schema = PREFIXES[prefix].options
        if schema is None and options:
            raise SettingsError(f"{prefix}:PATH takes no options; got {', '.join(sorted(options))}")
        if schema is not None:
            options = check_settings(schema, options, f"{prefix} option")
    else:
        raise SettingsError(f"[data] unknown dataset {base!r}; datasets: {', '.join(sorted(sets))}; "
                            f"or {', '.join(p + ':PATH' for p in sorted(PREFIXES))}")
    from arstudio.train_config import TrainConfig

    train = check_settings(TrainConfig, train_t, "trainer setting")
    return Recipe(name, data_ref(base, options), model_config, train, out)


def read_recipe(path) -> Recipe:
    from arstudio.untrusted import MAX_SMALL_FILE_BYTES, FileRefused, read_text

    path = Path(path)
    try:
        doc = tomllib.loads(read_text(path, MAX_SMALL_FILE_BYTES))  # never a FIFO or device
    except FileRefused as e:
        raise SettingsError(str(e)) from None
    except OSError as e:
        raise SettingsError(f"{path}: cannot read ({e.strerror or e})") from None
    except RecursionError:
        raise SettingsError(f"{path}: not valid TOML (nested too deeply)") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML ({e})") from None
    return check_recipe(doc, str(path))


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def recipe_document(recipe: Recipe) -> dict:
    """The TOML document of a recipe (None values, which TOML cannot hold, are left out:
    they are the defaults)."""
    from arstudio.data.registry import split_ref

    base, options = split_ref(recipe.data)
    doc: dict = {}
    if recipe.out:
        doc["out"] = str(recipe.out)
    doc["model"] = {"name": recipe.model, **{k: _plain(v) for k, v in recipe.model_config.items()
                                             if v is not None}}
    doc["data"] = {"name": base, **{k: _plain(v) for k, v in options.items() if v is not None}}
    doc["train"] = {k: _plain(v) for k, v in recipe.train.items() if v is not None}
    return doc


def write_recipe(recipe: Recipe, path) -> Path:
    import tomli_w

    from arstudio.atomic import atomic_write

    text = tomli_w.dumps(recipe_document(recipe))
    path = Path(path)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path
