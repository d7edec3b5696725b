"""Loaders for the standard files of MNIST / Fashion-MNIST (IDX), CIFAR-10 and
CIFAR-100 (the binary version, and the python version read by a restricted
unpickler, :mod:`arstudio.data.safe_pickle`) from a folder the user points at.
Nothing is downloaded.

A folder that is empty, has missing or damaged files, or files of the wrong
size raises :class:`DataError` naming the file and what is wrong.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from arstudio.data.registry import MAX_DECOMPRESSED_BYTES, DataError, Dataset, register_prefix, regular_file
from arstudio.spec import DataSpec

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_LICENSE = "MNIST: CC BY-SA 3.0 (LeCun, Cortes, Burges); Fashion-MNIST: MIT (Zalando Research)"
CIFAR_LICENSE = "CIFAR-10 (Krizhevsky, 2009), free for research; from the user's own files"


def _find(folder: Path, stem: str) -> Path:
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = folder / candidate
        if p.is_file():
            return p
    raise DataError(f"{folder}: missing {stem} (or {stem}.gz); expected the four IDX files of "
                    "MNIST/Fashion-MNIST")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzipped) as an array of unsigned bytes. The header is read
    first; a file whose header promises more than MAX_DECOMPRESSED_BYTES, or that unpacks
    to more than it promises (a gzip bomb), is refused before that much is read."""
    regular_file(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] != 0x08:
                raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
            ndim = head[3]
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) != 4 * ndim:
                raise DataError(f"{path}: truncated IDX header")
            dims = tuple(int.from_bytes(dims_raw[4 * i: 4 * i + 4], "big") for i in range(ndim))
            size = int(np.prod(dims, dtype=object)) if dims else 1
            if size > MAX_DECOMPRESSED_BYTES:
                raise DataError(f"{path}: its header promises {size:,} bytes ({dims}), over the "
                                f"limit of {MAX_DECOMPRESSED_BYTES:,}")
            body = f.read(size + 1)  # one byte more tells a longer file
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    header = 4 + 4 * ndim
    if len(body) != size:
        more = "more than" if len(body) > size else f"{header + len(body)} bytes but"
        raise DataError(f"{path}: {more} its header promises {header + size} ({dims})")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _validation_cut(n: int) -> int:
    return n - (5000 if n >= 50000 else max(1, n // 10))


def load_idx(folder, binarize: bool = False) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    arrays = {k: read_idx(_find(folder, v)) for k, v in IDX_FILES.items()}
    for split in ("train", "test"):
        imgs, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if imgs.ndim != 3 or len(imgs) != len(labels):
            raise DataError(f"{folder}: {split} images {imgs.shape} do not match labels {labels.shape}")
    train = torch.from_numpy(arrays["train_images"].astype(np.int64)).unsqueeze(1)
    test = torch.from_numpy(arrays["test_images"].astype(np.int64)).unsqueeze(1)
    ltrain = torch.from_numpy(arrays["train_labels"].astype(np.int64))
    ltest = torch.from_numpy(arrays["test_labels"].astype(np.int64))
    if binarize:  # fixed threshold for user data: reproducible and seed-free
        train, test = (train >= 128).long(), (test >= 128).long()
    cut = _validation_cut(len(train))
    spec = DataSpec(tuple(train.shape[1:]), 2 if binarize else 256)
    return Dataset(f"idx:{folder.name}", spec, train[:cut], train[cut:], test, IDX_LICENSE,
                   labels={"train": ltrain[:cut], "val": ltrain[cut:], "test": ltest},
                   extras={"classes": int(ltrain.max()) + 1})


def _cifar_records(path: Path, label_bytes: int, name: str, label: int, top: int):
    """A CIFAR binary batch: records of ``label_bytes`` label bytes then a 3×32×32 image;
    (images (N, 3, 32, 32) uint8, the labels at byte ``label``, each checked <= ``top``)."""
    regular_file(path)
    raw = path.read_bytes()
    record = label_bytes + 3 * 32 * 32
    if len(raw) == 0 or len(raw) % record:
        raise DataError(f"{path}: {len(raw)} bytes is not a whole number of {name} records "
                        f"({record} bytes each)")
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    labels = table[:, label].astype(np.int64)
    if labels.max() > top:
        raise DataError(f"{path}: label {labels.max()} out of range 0..{top}; not a {name} batch")
    return table[:, label_bytes:].reshape(-1, 3, 32, 32), labels


def read_cifar_batch(path: Path):
    return _cifar_records(path, 1, "CIFAR-10", 0, 9)


def load_cifar10(folder) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    sub = folder / "cifar-10-batches-bin"
    if sub.is_dir():
        folder = sub
    train_files = sorted(folder.glob("data_batch_*.bin"))
    test_file = folder / "test_batch.bin"
    if not train_files or not test_file.is_file():
        raise DataError(f"{folder}: expected data_batch_1.bin … data_batch_5.bin and test_batch.bin "
                        "(the CIFAR-10 binary version)")
    parts = [read_cifar_batch(p) for p in train_files]
    train = torch.from_numpy(np.concatenate([p[0] for p in parts]).astype(np.int64))
    ltrain = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    test_np, ltest_np = read_cifar_batch(test_file)
    cut = _validation_cut(len(train))
    return Dataset(f"cifar10:{folder.name}", DataSpec((3, 32, 32), 256), train[:cut], train[cut:],
                   torch.from_numpy(test_np.astype(np.int64)), CIFAR_LICENSE,
                   labels={"train": ltrain[:cut], "val": ltrain[cut:], "test": torch.from_numpy(ltest_np)},
                   extras={"classes": 10})


# --- CIFAR-100 (binary version) and CIFAR-10/100 (python version) ---------------------------------
CIFAR100_LICENSE = "CIFAR-100 (Krizhevsky, 2009), free for research; from the user's own files"


def read_cifar100_bin(path: Path, coarse: bool = False):
    return _cifar_records(path, 2, "CIFAR-100", 0 if coarse else 1, 19 if coarse else 99)


def _text_names(path: Path) -> list[str] | None:
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return None


def _py_get(d: dict, key: str):
    for k in (key, key.encode()):
        if k in d:
            return d[k]
    raise KeyError(key)


def read_cifar_python(path: Path, label_key: str):
    """One pickled batch of the python version, read by the restricted unpickler."""
    from arstudio.data.safe_pickle import safe_load

    regular_file(path)
    batch = safe_load(path)
    try:
        data = np.asarray(_py_get(batch, "data"))
        labels = np.asarray(_py_get(batch, label_key), dtype=np.int64)
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{path}: not a CIFAR batch (no {e})") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataError(f"{path}: expected uint8 data of shape (N, 3072) and N labels, got "
                        f"{data.dtype} {data.shape} and {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def _py_names(path: Path, key: str) -> list[str] | None:
    from arstudio.data.safe_pickle import safe_load

    if not path.is_file():
        return None
    try:
        names = _py_get(safe_load(path), key)
        return [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    except (DataError, KeyError, TypeError):
        return None


def _cifar_dataset(name, train, ltrain, test, ltest, license, label_names, classes):
    cut = _validation_cut(len(train))
    train = torch.from_numpy(np.ascontiguousarray(train).astype(np.int64))
    ltrain = torch.from_numpy(ltrain)
    extras = {"classes": classes}
    if label_names and len(label_names) == classes:
        extras["label_names"] = label_names
    return Dataset(name, DataSpec((3, 32, 32), 256), train[:cut], train[cut:],
                   torch.from_numpy(np.ascontiguousarray(test).astype(np.int64)), license,
                   labels={"train": ltrain[:cut], "val": ltrain[cut:], "test": torch.from_numpy(ltest)},
                   extras=extras)


def _pick_folder(folder: Path, names) -> Path:
    for sub in names:
        if (folder / sub).is_dir():
            return folder / sub
    return folder


def load_cifar10_any(folder) -> Dataset:
    """CIFAR-10 from the binary version (``data_batch_1.bin`` …) or the python version
    (``data_batch_1`` … pickles, read without executing anything)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    folder = _pick_folder(folder, ("cifar-10-batches-bin", "cifar-10-batches-py"))
    if list(folder.glob("data_batch_*.bin")):
        return load_cifar10(folder)
    train_files = sorted(p for p in folder.glob("data_batch_*") if p.suffix == "")
    test_file = folder / "test_batch"
    if not train_files or not test_file.is_file():
        raise DataError(f"{folder}: expected data_batch_1.bin … and test_batch.bin (binary version) or "
                        "data_batch_1 … and test_batch (python version) of CIFAR-10")
    parts = [read_cifar_python(p, "labels") for p in train_files]
    test, ltest = read_cifar_python(test_file, "labels")
    ltrain = np.concatenate([p[1] for p in parts])
    if max(ltrain.max(), ltest.max()) > 9:
        raise DataError(f"{folder}: labels beyond 0..9; not CIFAR-10")
    return _cifar_dataset(f"cifar10:{folder.name}", np.concatenate([p[0] for p in parts]), ltrain, test,
                          ltest, CIFAR_LICENSE, _py_names(folder / "batches.meta", "label_names"), 10)


def load_cifar100(folder, coarse: bool = False) -> Dataset:
    """CIFAR-100 from the binary version (``train.bin``, ``test.bin``) or the python version
    (``train``, ``test`` pickles); ``coarse`` takes the 20 super-class labels."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    folder = _pick_folder(folder, ("cifar-100-binary", "cifar-100-python"))
    kind = "coarse" if coarse else "fine"
    classes = 20 if coarse else 100
    if (folder / "train.bin").is_file() and (folder / "test.bin").is_file():
        train, ltrain = read_cifar100_bin(folder / "train.bin", coarse)
        test, ltest = read_cifar100_bin(folder / "test.bin", coarse)
        names = _text_names(folder / f"{kind}_label_names.txt")
    elif (folder / "train").is_file() and (folder / "test").is_file():
        train, ltrain = read_cifar_python(folder / "train", f"{kind}_labels")
        test, ltest = read_cifar_python(folder / "test", f"{kind}_labels")
        names = _py_names(folder / "meta", f"{kind}_label_names")
    else:
        raise DataError(f"{folder}: expected train.bin and test.bin (binary version) or train and test "
                        "(python version) of CIFAR-100")
    if max(ltrain.max(), ltest.max()) >= classes:
        raise DataError(f"{folder}: {kind} labels beyond 0..{classes - 1}; not CIFAR-100")
    return _cifar_dataset(f"cifar100:{folder.name}", train, ltrain, test, ltest, CIFAR100_LICENSE,
                          names, classes)


@register_prefix("idx", description="a folder with the four IDX files of MNIST / Fashion-MNIST, 256 levels")
def _idx_prefix(path: str) -> Dataset:
    return load_idx(path)


@register_prefix("idx-binary", description="the same IDX files thresholded at 128 (binary)")
def _idx_binary_prefix(path: str) -> Dataset:
    return load_idx(path, binarize=True)


@register_prefix("cifar10", description="a folder with CIFAR-10, binary or python version")
def _cifar10_prefix(path: str) -> Dataset:
    return load_cifar10_any(path)


@register_prefix("cifar100", description="a folder with CIFAR-100, binary or python version "
                 "(100 fine labels)")
def _cifar100_prefix(path: str) -> Dataset:
    return load_cifar100(path)


@register_prefix("cifar100-coarse", description="the same with its 20 coarse labels")
def _cifar100_coarse_prefix(path: str) -> Dataset:
    return load_cifar100(path, coarse=True)
