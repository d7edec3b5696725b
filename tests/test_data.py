"""Built-in datasets and the IDX / CIFAR-10 file loaders, on files the tests make."""
import gzip
import struct

import numpy as np
import pytest
import torch

from arstudio.data import DATASETS, DataError, list_datasets, load_dataset
from arstudio.data.files import load_cifar10, load_idx


@pytest.mark.parametrize("name,shape,levels,sizes", [
    ("digits", (1, 8, 8), 17, (1000, 350, 447)),
    ("digits-binary", (1, 8, 8), 2, (1000, 350, 447)),
    ("mnist5k", (1, 28, 28), 256, (4000, 500, 500)),
    ("mnist5k-binary", (1, 28, 28), 2, (4000, 500, 500)),
    ("shapes", (1, 16, 16), 2, (3000, 500, 500)),
    ("shapes-colour", (3, 16, 16), 4, (3000, 500, 500)),
])
def test_builtin_sets(name, shape, levels, sizes):
    d = load_dataset(name)
    assert d.spec.shape == shape and d.spec.levels == levels
    assert tuple(len(s) for s in (d.train, d.val, d.test)) == sizes
    for split in (d.train, d.val, d.test):
        assert split.dtype == torch.long and split.shape[1:] == shape
        assert split.min() >= 0 and split.max() <= levels - 1
    assert d.license
    assert {"train", "val", "test"} <= set(d.labels)


def test_registry_lists_license_and_spec():
    infos = {i.name: i for i in list_datasets()}
    assert "mnist5k-binary" in infos and infos["digits"].spec.levels == 17
    assert all(i.license for i in infos.values())


def test_binarisation_is_fixed():
    a = load_dataset("mnist5k-binary").train[:50]
    digits = load_dataset("mnist5k").train[:50]
    # bits follow intensity: white pixels mostly 1, black always 0
    assert a[digits == 0].sum() == 0
    assert a[digits > 250].float().mean() > 0.95
    # stable across loads (a fresh load re-binarises from the same seed)
    fresh = DATASETS["mnist5k-binary"].load.__wrapped__()  # bypass the per-process cache
    assert torch.equal(a, fresh.train[:50])


def test_digits_split_matches_sklearn_order():
    from sklearn.datasets import load_digits

    d = load_dataset("digits")
    assert torch.equal(d.test[-1, 0], torch.from_numpy(load_digits().images[-1].astype(np.int64)))


def _write_idx(path, array, gz=False):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(struct.pack(">I", s) for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_idx_loader(tmp_path):
    rng = np.random.default_rng(0)
    tr, te = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (5, 28, 28))
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", tr, gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 20))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", te)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 5))
    d = load_idx(tmp_path)
    assert d.spec.shape == (1, 28, 28) and d.spec.levels == 256
    assert len(d.train) == 18 and len(d.val) == 2
    assert torch.equal(d.test[:, 0], torch.from_numpy(te))
    b = load_dataset(f"idx-binary:{tmp_path}")
    assert b.spec.levels == 2 and set(b.train.unique().tolist()) <= {0, 1}


def test_idx_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="missing train-images"):
        load_idx(tmp_path)  # empty folder
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 2, 2)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((1, 2, 2)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(1))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte: 11 bytes but its header promises 17"):
        load_idx(tmp_path)


def test_cifar_loader(tmp_path):
    rng = np.random.default_rng(1)

    def batch(path, n):
        labels = rng.integers(0, 10, (n, 1))
        pixels = rng.integers(0, 256, (n, 3072))
        path.write_bytes(np.concatenate([labels, pixels], 1).astype(np.uint8).tobytes())
        return labels[:, 0], pixels

    for i in range(1, 3):
        batch(tmp_path / f"data_batch_{i}.bin", 10)
    labels, pixels = batch(tmp_path / "test_batch.bin", 4)
    d = load_cifar10(tmp_path)
    assert d.spec.shape == (3, 32, 32) and d.spec.levels == 256
    assert len(d.train) + len(d.val) == 20 and len(d.test) == 4
    assert torch.equal(d.test.reshape(4, -1), torch.from_numpy(pixels))
    assert torch.equal(d.labels["test"], torch.from_numpy(labels))
    (tmp_path / "test_batch.bin").write_bytes(b"\x01" * 100)
    with pytest.raises(DataError, match="test_batch.bin: 100 bytes is not a whole number"):
        load_cifar10(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="expected data_batch_1.bin"):
        load_cifar10(empty)


def test_prefixes_are_registered_by_their_loaders(tmp_path):
    """``PREFIX:PATH`` names go to the loader that registered the prefix; the registry
    itself names no loader, and a new prefix needs no change to it."""
    import inspect

    from arstudio.data import Dataset, list_prefixes, register_prefix, registry
    from arstudio.spec import DataSpec

    assert {"idx", "idx-binary", "cifar10", "text", "audio", "audio-16k"} <= {p.prefix for p in list_prefixes()}
    source = inspect.getsource(registry)
    assert "import files" not in source and "arstudio.data.text" not in source and "audio_files" not in source
    seen = []

    @register_prefix("test-ones", description="a test prefix")
    def ones(arg: str) -> Dataset:
        seen.append(arg)
        x = torch.ones(3, 4, dtype=torch.long)
        return Dataset(f"test-ones:{arg}", DataSpec((4,), 2), x, x, x, "none")

    try:
        d = load_dataset(f"test-ones:{tmp_path}")
        assert seen == [str(tmp_path)] and d.spec == DataSpec((4,), 2)
        with pytest.raises(ValueError, match="registered twice"):
            register_prefix("test-ones")(ones)
    finally:
        registry.PREFIXES.pop("test-ones")
    with pytest.raises(KeyError, match="test-ones:x.*idx:PATH") as e:
        load_dataset("test-ones:x")
    assert "text:PATH" in str(e.value)
