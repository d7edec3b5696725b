"""Session files (TOML): a lecture prepared in advance.

::

    [model]
    name = "pixelcnn"
    data = "digits"
    preset = "quick demo"
    [model.settings]      # only what differs from the model's defaults
    channels = 32
    [train]
    steps = 1000
    batch_size = 64
    lr = 0.001
    device = "auto"
    snapshot_every = 100
    processes = 1         # > 1: arstudio train --nproc-per-node N (torchrun + DDP)
    crop = 256            # only where they apply: sequence data (training window),
    label_dropout = 0.1   # models with a "no label" id,
    closed_form = false   # models with a least-squares fit
    [run]
    path = "runs/pixelcnn-digits-20261122-101500"   # relative to the session file or absolute
    [view]
    tab = "Train"
    presentation = false

Read with tomllib; written with tomli_w when installed, else by the small
writer below (tables of strings, numbers and booleans are all we write).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from PySide6.QtGui import QFont

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESENTATION_SCALE = 1.6


class SessionError(Exception):
    """A session file that cannot be used; the message names the file and the reason."""


def presentation_font(font: QFont) -> QFont:
    big = QFont(font)
    size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
    big.setPointSizeF(size * PRESENTATION_SCALE)
    return big


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


def dumps(data: dict) -> str:
    try:
        import tomli_w
    except ImportError:
        pass
    else:
        return tomli_w.dumps(data)
    lines: list[str] = []

    def table(prefix: str, d: dict):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) and v is not None}
        if prefix:
            lines.append(f"\n[{prefix}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines).lstrip() + "\n"


def session_dict(studio) -> dict:
    sel = studio.picker.selection()
    data = {"model": {"name": sel["model"] or "", "data": sel["data"] or "", "preset": sel["preset"],
                      "settings": sel["settings"]},
            "train": studio.train.train_settings(),
            "view": {"tab": studio.window.tabs.tabText(studio.window.tabs.currentIndex()),
                     "presentation": studio.presentation is not None}}
    follower = studio.train.follower
    if follower is not None:
        data["run"] = {"path": str(follower.path)}
    return data


def save_session(studio, path) -> Path:
    path = Path(path)
    path.write_text(dumps(session_dict(studio)))
    return path


def load_session(path) -> dict:
    from arstudio.untrusted import read_bytes

    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_SESSION_BYTES:
            raise SessionError(f"session {path.name} is over {MAX_SESSION_BYTES} bytes; not a session")
        return tomllib.loads(read_bytes(path, MAX_SESSION_BYTES).decode("utf-8"))  # never a FIFO or device
    except OSError as e:
        raise SessionError(f"cannot read session {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SessionError(f"session {path.name} is not UTF-8 text (byte {e.start})") from None
    except (tomllib.TOMLDecodeError, RecursionError) as e:
        raise SessionError(f"session {path.name} is not valid TOML: {e}") from None


MAX_SESSION_BYTES = 1 << 20


def _table(data, key: str, name: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SessionError(f"session {name}: [{key}] should be a table, not {type(value).__name__}")
    return value


def apply_session(studio, path) -> None:
    """Restore model, data, settings, training settings, open run and view."""
    path = Path(path)
    apply_state(studio, load_session(path), path.parent, path.name)


def apply_state(studio, data: dict, base: Path, name: str = "last state") -> None:
    """Apply a session dict; relative run paths are taken from ``base``. The run
    opens first so that the session's own model and training settings win. Values of the
    wrong type are one SessionError naming them."""
    if not isinstance(data, dict):
        raise SessionError(f"session {name}: not a table of settings")
    run = _table(data, "run", name).get("path")
    if run is not None and not isinstance(run, str):
        raise SessionError(f"session {name}: run.path should be a string")
    if run:
        run_path = Path(run) if Path(run).is_absolute() else (base / run)
        if not studio.open_run(run_path):
            raise SessionError(f"session {name}: its run {run_path} cannot be opened")
    model = _table(data, "model", name)
    if model.get("name"):
        if not isinstance(model.get("settings") or {}, dict):
            raise SessionError(f"session {name}: model.settings should be a table")
        try:
            studio.picker.select(model["name"], model.get("data") or None, model.get("settings") or {},
                                 preset=model.get("preset"))
        except KeyError as e:
            raise SessionError(f"session {name}: {e.args[0]}") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise SessionError(f"session {name}: bad model settings ({e})") from None
    try:
        studio.train.set_train_settings(_table(data, "train", name))
    except (TypeError, ValueError, OverflowError, AttributeError) as e:
        raise SessionError(f"session {name}: bad training settings ({e})") from None
    view = _table(data, "view", name)
    tabs = studio.window.tabs
    for i in range(tabs.count()):
        if tabs.tabText(i) == view.get("tab"):
            tabs.setCurrentIndex(i)
    if view.get("presentation") and name != "last state":  # a restart does not jump to full screen
        studio.presentation_action.setChecked(True)
