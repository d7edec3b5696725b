"""Setting values typed as text: ``--set KEY=VALUE`` on the command line and the
picker's free-text fields read them the same way. No heavy imports."""
from __future__ import annotations

import ast

_WORDS = {"true": True, "false": False, "none": None}


def parse_value(text: str):
    """Numbers, booleans (``true``/``false``), ``none``, tuples like ``(64, 64)``;
    anything else is the string itself."""
    text = text.strip()
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_pairs(pairs) -> dict:
    """``["key=value", ...]`` -> ``{"key": parsed value}``; dashes in keys become
    underscores. A pair without ``=`` raises ValueError naming it."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip().replace("-", "_")] = parse_value(v)
    return out


def format_value(value) -> str:
    """The text :func:`parse_value` reads back as ``value`` (``None`` is ``none``)."""
    return "none" if value is None else str(value)
