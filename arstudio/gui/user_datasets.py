"""The user's own datasets, added with Data → Add dataset… and remembered across starts.

Each added dataset is one entry (plain JSON) in the studio's settings
(:func:`arstudio.gui.settings.studio_settings`, key ``user_datasets``): its
data name as run folders record it (``images:/x/pets?levels=2&size=8x8``, see
:func:`arstudio.data.registry.data_ref`), a title, the spec, the split counts
and the licence/source line. The picker lists them beside the built-in sets;
training on one runs the ordinary worker with that data name.

:func:`preview` is the dialog's look at a dataset: it loads it (in a pool
thread) and returns plain facts and a uint8 picture of a few examples.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

KEY = "user_datasets"
PREVIEW_EXAMPLES = 16

# (prefix, title in the dialog, "folder" | "file"): what Add dataset… offers, in this order;
# a prefix not registered here (a stream's loader missing) is simply not offered
KINDS: tuple[tuple[str, str, str], ...] = (
    ("images", "Image folder (PNG, JPEG, BMP, WebP, GIF; class subfolders = labels)", "folder"),
    ("idx", "MNIST / Fashion-MNIST IDX folder (256 levels)", "folder"),
    ("idx-binary", "MNIST / Fashion-MNIST IDX folder, binary", "folder"),
    ("cifar10", "CIFAR-10 folder (binary or python version)", "folder"),
    ("cifar100", "CIFAR-100 folder (fine labels)", "folder"),
    ("cifar100-coarse", "CIFAR-100 folder (coarse labels)", "folder"),
    ("npz", "NumPy .npz / .npy file", "file"),
    ("audio", "Audio folder (WAV/FLAC/OGG, 8 kHz)", "folder"),
    ("audio-16k", "Audio folder (WAV/FLAC/OGG, 16 kHz)", "folder"),
    ("text", "Text file (UTF-8, 128-character chunks)", "file"),
)


def _settings():
    from arstudio.gui.settings import studio_settings

    return studio_settings()


def remembered() -> list[dict]:
    """The added datasets, oldest first; an unreadable store is an empty list."""
    text = _settings().value(KEY)
    try:
        entries = json.loads(text) if text else []
    except (TypeError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)
            and isinstance(e.get("spec"), dict)] if isinstance(entries, list) else []


def remember(entry: dict) -> None:
    """Add (or replace, by data name) one entry."""
    entries = [e for e in remembered() if e["name"] != entry["name"]] + [entry]
    s = _settings()
    s.setValue(KEY, json.dumps(entries))
    s.sync()


def forget(name: str) -> None:
    s = _settings()
    s.setValue(KEY, json.dumps([e for e in remembered() if e["name"] != name]))
    s.sync()


def dataset_info(entry: dict):
    """A remembered entry as a :class:`~arstudio.data.registry.DatasetInfo` for the picker."""
    from arstudio.data.registry import DatasetInfo, load_dataset
    from arstudio.spec import DataSpec

    name = entry["name"]
    return DatasetInfo(name, DataSpec.from_dict(entry["spec"]), lambda: load_dataset(name),
                       entry.get("license", "the user's own files"), entry.get("description", ""))


def label(entry: dict) -> str:
    """The picker's line: title, shape/levels and the split counts."""
    from arstudio.spec import DataSpec

    tr, va, te = entry.get("counts", (0, 0, 0))
    return f"{entry.get('title', entry['name'])}  ({DataSpec.from_dict(entry['spec']).describe()}; " \
           f"{tr:,} train / {va:,} val / {te:,} test)"


def title(prefix: str, path: str, options: dict) -> str:
    given = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    return f"{prefix}: {Path(path).name or path}" + (f" ({given})" if given else "")


def _waveform(x: np.ndarray, levels: int, width: int = 384, height: int = 48) -> np.ndarray:
    """A few audio chunks (levels) as stacked waveform strips, uint8 RGB."""
    rows = []
    for seq in x[:4]:
        strip = np.full((height, width, 3), 250, dtype=np.uint8)
        t = np.linspace(0, len(seq) - 1, width).astype(int)
        y = (height - 1) - (seq[t].astype(float) / (levels - 1) * (height - 1)).astype(int)
        for col in range(width):
            a, b = sorted((y[col], y[max(col - 1, 0)]))
            strip[a:b + 1, col] = (40, 90, 200)
        rows.append(strip)
        rows.append(np.full((2, width, 3), 200, dtype=np.uint8))
    return np.concatenate(rows[:-1])


def preview(ref: str) -> dict:
    """Runs in a pool thread: load the dataset named ``ref`` and return plain facts (spec,
    counts, skipped files, licence, description) and a picture or text of a few examples.
    Raises DataError / SettingsError / ValueError with a message for the user."""
    import torch

    from arstudio.data.registry import load_dataset
    from arstudio.imaging import grid

    ds = load_dataset(ref)
    spec = ds.spec
    x = ds.train[:PREVIEW_EXAMPLES]
    picture, text = None, None
    if spec.modality == "image":
        h, w = spec.shape[1:]
        picture = grid(x, spec.levels, cols=min(8, len(x)), scale=max(1, 40 // max(h, w)))
    elif ds.extras.get("encoding") == "characters":
        from arstudio.data.text import decode_text

        text = "\n".join(repr(decode_text(s))[1:-1][:100] for s in x[:4])
    elif ds.extras.get("encoding") == "mu-law" and spec.levels:
        picture = _waveform(x.numpy(), spec.levels)
    else:  # vectors and other sequences: one row of cells each
        n = len(x)
        cols = spec.shape[-1]
        scale = max(1, min(8, 384 // cols))
        picture = grid(x.reshape(n, 1, 1, -1).to(torch.float32 if spec.levels is None else x.dtype),
                       spec.levels, cols=1, scale=scale)
    classes = ds.extras.get("label_names") or ([] if not ds.extras.get("classes") else
                                               [str(i) for i in range(int(ds.extras["classes"]))])
    return {"ref": ref, "spec": spec.to_dict(), "describe": spec.describe(),
            "counts": [len(ds.train), len(ds.val), len(ds.test)],
            "skipped": [str(s) for s in ds.extras.get("skipped", [])], "license": ds.license,
            "description": ds.description, "classes": list(classes), "picture": picture, "text": text,
            "examples": int(min(len(ds.train), PREVIEW_EXAMPLES))}


def entry_from_preview(facts: dict, prefix: str, path: str, options: dict) -> dict:
    return {"name": facts["ref"], "kind": prefix, "path": str(path), "options": dict(options),
            "title": title(prefix, path, options), "spec": facts["spec"], "counts": facts["counts"],
            "license": facts["license"], "description": facts["description"],
            "classes": len(facts["classes"])}

