"""Loaders for the standard files of MNIST / Fashion-MNIST (IDX) and CIFAR-10
(binary batches) from a folder the user points at. Nothing is downloaded.

A folder that is empty, has missing or damaged files, or files of the wrong
size raises :class:`DataError` naming the file and what is wrong.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from arstudio.data.registry import DataError, Dataset, register_prefix
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
    """One IDX file (optionally gzipped) as an array of unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes but its header promises {expected} ({dims})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


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


def read_cifar_batch(path: Path):
    raw = path.read_bytes()
    record = 1 + 3 * 32 * 32
    if len(raw) == 0 or len(raw) % record:
        raise DataError(f"{path}: {len(raw)} bytes is not a whole number of CIFAR-10 records "
                        f"({record} bytes each)")
    table = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    labels = table[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{path}: label {labels.max()} out of range 0..9; not a CIFAR-10 batch")
    return table[:, 1:].reshape(-1, 3, 32, 32), labels


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


@register_prefix("idx", description="a folder with the four IDX files of MNIST / Fashion-MNIST, 256 levels")
def _idx_prefix(path: str) -> Dataset:
    return load_idx(path)


@register_prefix("idx-binary", description="the same IDX files thresholded at 128 (binary)")
def _idx_binary_prefix(path: str) -> Dataset:
    return load_idx(path, binarize=True)


@register_prefix("cifar10", description="a folder with the CIFAR-10 binary batches")
def _cifar10_prefix(path: str) -> Dataset:
    return load_cifar10(path)
