"""One check for every table of settings a user types: trainer settings
(``--train-set``, a recipe's ``[train]``), data options (``--data-set``, a
recipe's ``[data]``) and the recipe's own sections.

``check_settings(Schema, given, what)`` compares ``given`` with the fields of a
dataclass ``Schema``: an unknown key or a value of the wrong type is one
:class:`SettingsError` (a ``ValueError``) that names the key and lists the
valid ones, instead of a traceback from deep inside a constructor. Values
keep their meaning: an int where a float is expected becomes a float; a bool
is never taken for a number.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import types
import typing


class SettingsError(ValueError):
    """An unknown or ill-typed setting; the message names it and the valid ones."""


def _allowed(hint) -> tuple:
    """The plain types a type hint admits (``float | None`` -> (float, NoneType))."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        out = ()
        for arg in typing.get_args(hint):
            out += _allowed(arg)
        return out
    if origin is not None:
        return (origin,)
    if hint is typing.Any:
        return (object,)
    return (hint,)


def _type_name(types_: tuple) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
             type(None): "none", list: "a list", tuple: "a list", dict: "a table"}
    return " or ".join(dict.fromkeys(names.get(t, getattr(t, "__name__", str(t))) for t in types_))


def coerce(key: str, value, hint, what: str):
    """``value`` as the type ``hint`` asks for, or a SettingsError naming ``key``."""
    allowed = _allowed(hint)
    if object in allowed:
        return value
    if value is None:
        if type(None) in allowed:
            return None
    elif isinstance(value, bool):
        if bool in allowed:
            return value
    elif isinstance(value, int) and int in allowed:
        return value
    elif isinstance(value, (int, float)) and float in allowed:
        return float(value)
    elif isinstance(value, str) and str in allowed:
        return value
    elif isinstance(value, (list, tuple)) and (list in allowed or tuple in allowed):
        return tuple(value) if tuple in allowed else list(value)
    elif isinstance(value, dict) and dict in allowed:
        return value
    raise SettingsError(f"{what} {key!r} must be {_type_name(allowed)}, got {value!r}")


def schema_fields(schema) -> dict[str, tuple]:
    """{name: (type hint, default)} of a dataclass (class or instance)."""
    cls = schema if isinstance(schema, type) else type(schema)
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out[f.name] = (hints[f.name], default)
    return out


def unknown_key(key: str, valid, what: str) -> SettingsError:
    valid = sorted(valid)
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SettingsError(f"unknown {what} {key!r}{hint}; valid: {', '.join(valid)}")


def check_settings(schema, given: dict, what: str = "setting") -> dict:
    """``given`` checked against the dataclass ``schema``: keys with ``-`` are read as
    ``_``; returns a new dict of typed values. Raises :class:`SettingsError`."""
    fields = schema_fields(schema)
    out = {}
    for raw_key, value in given.items():
        key = str(raw_key).strip().replace("-", "_")
        if key not in fields:
            raise unknown_key(key, fields, what)
        out[key] = coerce(key, value, fields[key][0], what)
    return out


def describe_settings(schema) -> list[tuple[str, str, str]]:
    """(name, default, meaning) for each field, the meaning taken from the comment
    beside the field in the source (``# ...``), for ``--help`` texts."""
    import inspect

    cls = schema if isinstance(schema, type) else type(schema)
    comments: dict[str, str] = {}
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        lines = []
    pending: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        name = stripped.split(":", 1)[0].strip()
        if ":" in stripped and name.isidentifier():
            after = stripped.split("#", 1)[1].strip() if "#" in stripped else ""
            comments[name] = " ".join([*pending, after]).strip()
        pending = []
    return [(name, repr(default), comments.get(name, ""))
            for name, (_, default) in schema_fields(cls).items()]


def field_comments(config_cls) -> dict[str, str]:
    """``name: type = default  # comment`` lines of a Config -> {name: comment}."""
    try:
        source = inspect.getsource(config_cls)
    except (OSError, TypeError):
        return {}
    found = {}
    for line in source.splitlines():
        m = re.match(r"\s*(\w+)\s*:[^#]*#\s*(.+)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found
