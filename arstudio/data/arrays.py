"""NumPy ``.npy`` / ``.npz`` files as a dataset (``npz:PATH``, ``npy:PATH``).

Arrays are read with ``allow_pickle=False``: an object array is refused, so
nothing in the file can run. What the file may hold:

- one array of examples (a ``.npy``, or the one array of a ``.npz``; with
  several, the one named ``x``, ``X``, ``images``, ``data`` or ``option key``),
  with optional labels named ``y``, ``labels`` or ``targets``; it is shuffled
  with ``seed`` and split by ``split`` fractions;
- or ready splits ``train``, ``val`` (optional) and ``test``, with optional
  ``train_labels``, ``val_labels``, ``test_labels``.

The spec follows the array: ``(N, H, W)`` and ``(N, C, H, W)`` (or
``(N, H, W, C)`` with C ≤ 4 last) are images, ``(N, T)`` integer arrays are
sequences (``modality=vector`` for vectors), float arrays are real-valued.
Integer data must lie in ``0 .. levels-1``; ``levels`` defaults to the
largest value + 1.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from arstudio.config_check import SettingsError, check_settings
from arstudio.data.registry import MAX_DECOMPRESSED_BYTES, DataError, Dataset, register_prefix, regular_file
from arstudio.spec import DataSpec

EXAMPLE_KEYS = ("x", "X", "images", "data", "arr_0")
LABEL_KEYS = ("y", "labels", "targets", "arr_1")


@dataclass(frozen=True)
class ArrayOptions:
    key: str = ""  # the array of examples in a .npz (default: x, X, images, data or the only one)
    levels: int = 0  # integer data: number of levels; 0 = the largest value + 1
    modality: str = "auto"  # "auto", "image", "sequence" or "vector"
    split: str = "0.8,0.1,0.1"  # train,val,test fractions when the file has one array
    seed: int = 0  # shuffles the examples before the split

    def __post_init__(self):
        if self.modality not in ("auto", "image", "sequence", "vector"):
            raise SettingsError(f"array option 'modality' must be auto, image, sequence or vector, "
                                f"got {self.modality!r}")
        if self.levels and not 2 <= self.levels <= 65536:
            raise SettingsError(f"array option 'levels' must be 0 (infer) or 2 … 65536, got {self.levels}")


def array_options(given: dict | None) -> ArrayOptions:
    given = dict(given or {})
    if "split" in given and isinstance(given["split"], (list, tuple)):
        given["split"] = ",".join(str(v) for v in given["split"])
    return ArrayOptions(**check_settings(ArrayOptions, given, "array option"))


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    regular_file(path)
    if path.suffix == ".npz":  # a zip: what its members unpack to is bounded before reading
        import zipfile

        try:
            with zipfile.ZipFile(path) as z:
                unpacked = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"{path}: not a NumPy .npz file ({e})") from None
        if unpacked > MAX_DECOMPRESSED_BYTES:
            raise DataError(f"{path}: unpacks to {unpacked:,} bytes, over the limit of "
                            f"{MAX_DECOMPRESSED_BYTES:,}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"{path}: holds Python objects, which are not read ({e})") from None
    except Exception as e:  # OSError, EOFError, zipfile.BadZipFile, …
        raise DataError(f"{path}: not a NumPy .npy/.npz file ({type(e).__name__}: {e})") from None
    if isinstance(loaded, np.ndarray):
        return {"x": loaded}
    try:
        with loaded:
            return {k: loaded[k] for k in loaded.files}
    except ValueError as e:
        raise DataError(f"{path}: holds Python objects, which are not read ({e})") from None
    except Exception as e:  # a damaged zip member
        raise DataError(f"{path}: damaged .npz ({type(e).__name__}: {e})") from None


def _images_first(a: np.ndarray, modality: str, path: Path) -> np.ndarray:
    """Examples in the spec's layout: (N, C, H, W), (N, T) or (N, D)."""
    if a.ndim == 3 and modality in ("auto", "image"):
        return a[:, None]
    if a.ndim == 4:
        if a.shape[1] > 4 and a.shape[-1] <= 4:
            a = a.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        return a
    if a.ndim == 2:
        return a
    raise DataError(f"{path}: examples of shape {a.shape[1:]} are neither images (H, W) / (C, H, W) "
                    "nor sequences / vectors (D,)")


def _split(n: int, fractions, seed: int):
    perm = np.random.default_rng(seed).permutation(n)
    a = max(1, round(fractions[0] * n))
    b = min(n, a + round(fractions[1] * n))
    val, test = perm[a:b], perm[b:]
    if len(val) == 0:
        val = perm[a - 1:a]
    if len(test) == 0:
        test = val
    return perm[:a], val, test


def _fractions(split: str) -> tuple[float, float, float]:
    try:
        parts = [float(v) for v in split.replace(" ", "").strip("()[]").split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(p < 0 for p in parts) or not 0.999 <= sum(parts) <= 1.001 or parts[0] <= 0:
        raise SettingsError(f"array option 'split' must be three fractions adding up to 1, got {split!r}")
    return parts[0], parts[1], parts[2]


def load_arrays(path, options: ArrayOptions | dict | None = None) -> Dataset:
    path = Path(path).expanduser()
    opts = options if isinstance(options, ArrayOptions) else array_options(options)
    arrays = _read(path)
    splits, labels = {}, {}
    if "train" in arrays and "test" in arrays:
        for name in ("train", "val", "test"):
            if name in arrays:
                splits[name] = arrays[name]
                for lk in (f"{name}_labels", f"y_{name}", f"{name}_y"):
                    if lk in arrays:
                        labels[name] = arrays[lk]
        if "val" not in splits:  # the last tenth of train becomes validation
            n = len(splits["train"])
            cut = n - max(1, n // 10)
            splits["train"], splits["val"] = splits["train"][:cut], splits["train"][cut:]
            if "train" in labels:
                labels["train"], labels["val"] = labels["train"][:cut], labels["train"][cut:]
    else:
        key = opts.key or next((k for k in EXAMPLE_KEYS if k in arrays), None)
        if key is None and len(arrays) == 1:
            key = next(iter(arrays))
        if key is None or key not in arrays:
            raise DataError(f"{path}: which array holds the examples? it has {', '.join(arrays)}; "
                            f"name it x (or train/test), or pass --data-set key=NAME")
        x = arrays[key]
        y = next((arrays[k] for k in LABEL_KEYS if k in arrays and k != key), None)
        if x.ndim < 2 or len(x) < 2:
            raise DataError(f"{path}: {key} of shape {x.shape} is not a set of examples (N, ...)")
        idx = _split(len(x), _fractions(opts.split), opts.seed)
        splits = dict(zip(("train", "val", "test"), (x[i] for i in idx)))
        if y is not None:
            if len(y) != len(x):
                raise DataError(f"{path}: {len(y)} labels for {len(x)} examples")
            labels = dict(zip(("train", "val", "test"), (y[i] for i in idx)))
    first = splits["train"]
    if first.dtype.kind not in "biuf":
        raise DataError(f"{path}: arrays of {first.dtype} are neither integers nor floats")
    real = first.dtype.kind == "f"
    out = {}
    for name, a in splits.items():
        if (a.dtype.kind == "f") != real:
            raise DataError(f"{path}: {name} is {a.dtype} but train is {first.dtype}")
        out[name] = _images_first(a, opts.modality, path)
    shapes = {name: a.shape[1:] for name, a in out.items()}
    if len(set(shapes.values())) != 1:
        raise DataError(f"{path}: splits have different example shapes {shapes}")
    shape = out["train"].shape[1:]
    modality = opts.modality if opts.modality != "auto" else (
        "image" if len(shape) == 3 else "vector" if real else "sequence")
    if real:
        levels = None
        tensors = {k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for k, a in out.items()}
    else:
        lo = min(int(a.min()) for a in out.values())
        hi = max(int(a.max()) for a in out.values())
        if lo < 0:
            raise DataError(f"{path}: integer data must be 0 … levels-1, found {lo}")
        levels = opts.levels or max(2, hi + 1)
        if hi >= levels:
            raise DataError(f"{path}: value {hi} does not fit levels={levels}")
        tensors = {k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)) for k, a in out.items()}
    try:
        spec = DataSpec(tuple(shape), levels, modality)
    except ValueError as e:
        raise DataError(f"{path}: {e}") from None
    lab, extras = {}, {"options": asdict(opts), "source": str(path)}
    if labels:
        if set(labels) != set(tensors):
            raise DataError(f"{path}: labels for {', '.join(sorted(labels))} but splits "
                            f"{', '.join(sorted(tensors))}")
        lab = {k: torch.from_numpy(np.asarray(v, dtype=np.int64).reshape(-1)) for k, v in labels.items()}
        if any(len(lab[k]) != len(tensors[k]) for k in lab) or min(int(v.min()) for v in lab.values()) < 0:
            raise DataError(f"{path}: labels must be one class id ≥ 0 per example")
        extras["classes"] = max(int(v.max()) for v in lab.values()) + 1
    return Dataset(f"npz:{path}", spec, tensors["train"], tensors["val"], tensors["test"],
                   "the user's own arrays", description=f"arrays from {path}", labels=lab, extras=extras)


@register_prefix("npz", options=ArrayOptions, description="a NumPy .npz (or .npy) file of examples")
def _npz_prefix(path: str, options: dict) -> Dataset:
    return load_arrays(path, options)


@register_prefix("npy", options=ArrayOptions, description="a NumPy .npy (or .npz) file of examples")
def _npy_prefix(path: str, options: dict) -> Dataset:
    return load_arrays(path, options)
