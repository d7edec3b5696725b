"""A user's own files: image folders, NumPy arrays, CIFAR-100 and the CIFAR python
version (through the restricted unpickler), on files the tests make."""
import io
import os
import pickle
import random

import numpy as np
import pytest
import torch
from PIL import Image

from arstudio.config_check import SettingsError
from arstudio.data import DataError, image_files
from arstudio.data.arrays import load_arrays
from arstudio.data.files import load_cifar10_any, load_cifar100
from arstudio.data.image_files import load_image_folder
from arstudio.data.safe_pickle import safe_loads


def make_image_folder(root, classes=("cats", "dogs"), n=6, size=(12, 10), colour=True, junk=True):
    """Class subfolders of PNG/JPEG/BMP/WebP/GIF images, plus a corrupt PNG and a text file."""
    rng = np.random.default_rng(0)
    formats = ["PNG", "JPEG", "BMP", "WEBP", "GIF", "PNG"]
    for c, name in enumerate(classes or [""]):
        d = root / name if name else root
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = rng.integers(0, 256, (size[0], size[1], 3), dtype=np.uint8)
            a[..., 0] = 200 * c  # the class shows in the red channel
            im = Image.fromarray(a if colour else a[..., 1])
            fmt = formats[i % len(formats)]
            im.save(d / f"img{i}.{fmt.lower()}", format=fmt)
    if junk:
        (root / (classes[0] if classes else "") / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        (root / (classes[0] if classes else "") / "notes.txt").write_text("not an image")
    return root


def test_image_folder_with_classes_skips_junk(tmp_path):
    make_image_folder(tmp_path / "pets")
    with pytest.warns(RuntimeWarning, match="skipped 2 file") as told:  # one warning for all of them
        d = load_image_folder(tmp_path / "pets", {"size": "8x8", "levels": 4, "split": "0.5,0.25,0.25"})
    assert d.spec.shape == (3, 8, 8) and d.spec.levels == 4
    assert len(d.train) + len(d.val) + len(d.test) == 12
    assert (len(d.train), len(d.val), len(d.test)) == (6, 3, 3)
    assert d.train.dtype == torch.long and 0 <= d.train.min() and d.train.max() <= 3
    assert d.extras["label_names"] == ["cats", "dogs"] and d.extras["classes"] == 2
    skipped = "\n".join(d.extras["skipped"])
    assert "broken.png" in skipped and "notes.txt" in skipped and "not an image" in skipped
    said = [str(w.message) for w in told if "skipped" in str(w.message)]
    assert len(said) == 1 and "broken.png" in said[0] and "notes.txt" in said[0]
    # labels follow the folders: the red channel is 0 for cats and 200 (level 3) for dogs
    for split in ("train", "val", "test"):
        x, y = d.split(split), d.labels[split]
        assert torch.equal(x[:, 0].float().mean((1, 2)) > 1.5, y == 1)


def test_image_folder_grey_binary_resize_and_seed(tmp_path):
    make_image_folder(tmp_path / "flat", classes=(), n=10, size=(20, 16), colour=False, junk=False)
    a = load_image_folder(tmp_path / "flat", {"size": "10x10", "colour": "grey", "levels": 2, "fit": "resize"})
    assert a.spec.shape == (1, 10, 10) and a.spec.levels == 2 and not a.labels
    assert set(a.train.unique().tolist()) <= {0, 1}
    s1 = load_image_folder(tmp_path / "flat", {"levels": 2, "binarize": "sample", "seed": 3})
    s2 = load_image_folder(tmp_path / "flat", {"levels": 2, "binarize": "sample", "seed": 3})
    assert s1.spec.shape == (1, 20, 16)  # no size: the first image's
    assert torch.equal(s1.train, s2.train)
    s3 = load_image_folder(tmp_path / "flat", {"levels": 2, "binarize": "sample", "seed": 4})
    assert not torch.equal(s1.train, s3.train)


def test_gif_first_frame(tmp_path):
    frames = [Image.new("L", (4, 4), v) for v in (10, 250)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("L", (4, 4), 10).save(tmp_path / "still.png")
    d = load_image_folder(tmp_path, {"split": "0.5,0.5,0"})
    assert d.spec.shape == (1, 4, 4)
    assert int(torch.cat([d.train, d.val]).max()) <= 20  # the first frame (10), never 250


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.txt").write_text("hello")
    (tmp_path / "junk" / "b.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"no readable image.*a\.txt.*b\.png"):
        load_image_folder(tmp_path / "junk")
    with pytest.raises(SettingsError, match=r"unknown image option 'colour_mode'.*valid: binarize, colour"):
        load_image_folder(tmp_path / "junk", {"colour_mode": "rgb"})
    with pytest.raises(SettingsError, match="'levels' must be an integer"):
        load_image_folder(tmp_path / "junk", {"levels": "many"})
    with pytest.raises(SettingsError, match="HxW"):
        load_image_folder(tmp_path / "junk", {"size": "big"})


def test_large_folder_goes_through_the_memory_mapped_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARSTUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(image_files, "CACHE_MIN_FILES", 4)
    make_image_folder(tmp_path / "big", n=4)
    first = load_image_folder(tmp_path / "big", {"size": "8x8"})
    cached = list((tmp_path / "cache" / "images").glob("*.npy"))
    assert len(cached) == 1
    arr = np.load(cached[0], mmap_mode="r")
    assert arr.dtype == np.uint8 and arr.shape == (8, 3, 8, 8)
    calls = []
    monkeypatch.setattr(image_files, "_open_rgb_or_grey", lambda p: calls.append(p))
    again = load_image_folder(tmp_path / "big", {"size": "8x8"})  # from the cache: no file opened
    assert not calls and torch.equal(first.train, again.train)
    assert again.extras["skipped"] == first.extras["skipped"]
    assert isinstance(image_files.read_folder_cached(tmp_path / "big", image_files.image_options(
        {"size": "8x8"}))[0], np.memmap)


def test_npz_single_array_and_splits(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (40, 6, 6)).astype(np.uint8)
    y = rng.integers(0, 3, 40)
    np.savez(tmp_path / "a.npz", x=x, y=y)
    d = load_arrays(tmp_path / "a.npz", {"split": "0.5,0.25,0.25"})
    assert d.spec.shape == (1, 6, 6) and d.spec.levels == 5 and d.spec.modality == "image"
    assert (len(d.train), len(d.val), len(d.test)) == (20, 10, 10) and d.extras["classes"] == 3
    np.savez(tmp_path / "b.npz", train=rng.integers(0, 7, (30, 16)), test=rng.integers(0, 7, (5, 16)))
    s = load_arrays(tmp_path / "b.npz")
    assert s.spec.modality == "sequence" and s.spec.shape == (16,) and s.spec.levels == 7
    assert (len(s.train), len(s.val), len(s.test)) == (27, 3, 5)
    np.save(tmp_path / "c.npy", rng.normal(size=(50, 2)).astype(np.float32))
    v = load_arrays(tmp_path / "c.npy")
    assert v.spec.modality == "vector" and v.spec.levels is None and v.train.dtype == torch.float32
    np.save(tmp_path / "hwc.npy", rng.integers(0, 256, (10, 8, 8, 3)).astype(np.uint8))
    assert load_arrays(tmp_path / "hwc.npy").spec.shape == (3, 8, 8)


def test_npz_refuses_objects_and_bad_values(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="Python objects"):
        load_arrays(tmp_path / "obj.npy")
    np.save(tmp_path / "neg.npy", -np.ones((4, 3), dtype=np.int64))
    with pytest.raises(DataError, match="0 … levels-1"):
        load_arrays(tmp_path / "neg.npy")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError):
        load_arrays(tmp_path / "junk.npz")


def _cifar_images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)


def test_cifar100_binary(tmp_path):
    d = tmp_path / "cifar-100-binary"
    d.mkdir()
    for name, n in (("train.bin", 30), ("test.bin", 6)):
        data = _cifar_images(n, n)
        coarse, fine = np.arange(n) % 20, np.arange(n) % 100
        (d / name).write_bytes(np.concatenate([coarse[:, None], fine[:, None], data], 1).astype(np.uint8).tobytes())
    (d / "fine_label_names.txt").write_text("\n".join(f"f{i}" for i in range(100)))
    ds = load_cifar100(tmp_path)
    assert ds.spec.shape == (3, 32, 32) and ds.extras["classes"] == 100 and ds.extras["label_names"][3] == "f3"
    assert len(ds.train) + len(ds.val) == 30 and len(ds.test) == 6
    assert torch.equal(ds.test[1].flatten(), torch.from_numpy(_cifar_images(6, 6)[1].astype(np.int64)))
    assert load_cifar100(tmp_path, coarse=True).extras["classes"] == 20


def _py2_style(obj):  # the python version's batches: dicts with byte-string keys, protocol 2
    return pickle.dumps(obj, protocol=2)


def test_cifar10_and_100_python_version(tmp_path):
    d10 = tmp_path / "cifar-10-batches-py"
    d10.mkdir()
    for i in range(1, 3):
        (d10 / f"data_batch_{i}").write_bytes(_py2_style({b"data": _cifar_images(10, i),
                                                          b"labels": list(np.arange(10) % 10)}))
    (d10 / "test_batch").write_bytes(_py2_style({b"data": _cifar_images(4, 9), b"labels": [1, 2, 3, 4]}))
    (d10 / "batches.meta").write_bytes(_py2_style({b"label_names": [f"c{i}".encode() for i in range(10)]}))
    ds = load_cifar10_any(tmp_path)
    assert len(ds.train) + len(ds.val) == 20 and ds.labels["test"].tolist() == [1, 2, 3, 4]
    assert ds.extras["label_names"][0] == "c0"
    assert torch.equal(ds.test[0].flatten(), torch.from_numpy(_cifar_images(4, 9)[0].astype(np.int64)))
    d100 = tmp_path / "c100" / "cifar-100-python"
    d100.mkdir(parents=True)
    for name, n in (("train", 12), ("test", 3)):
        (d100 / name).write_bytes(_py2_style({b"data": _cifar_images(n, n), b"fine_labels": list(range(n)),
                                              b"coarse_labels": [0] * n}))
    ds = load_cifar100(tmp_path / "c100")
    assert ds.extras["classes"] == 100 and len(ds.test) == 3


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_restricted_unpickler_refuses_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for payload in (pickle.dumps(_Evil()), pickle.dumps({b"data": _Evil()}, protocol=2),
                    pickle.dumps([eval], protocol=4), pickle.dumps(np.array([1, None], dtype=object)),
                    pickle.dumps(io.BytesIO)):
        with pytest.raises(DataError, match="not a pickle of plain arrays"):
            safe_loads(payload)
    assert not (tmp_path / "pwned").exists()
    ok = safe_loads(pickle.dumps({"a": [np.arange(3, dtype=np.int16)], "b": (1.5, None)}, protocol=2))
    assert ok["a"][0].tolist() == [0, 1, 2] and ok["b"] == (1.5, None)


def test_restricted_unpickler_fuzz(tmp_path, monkeypatch):
    """Random damage to a valid batch: every outcome is the plain object or one DataError."""
    monkeypatch.chdir(tmp_path)
    valid = pickle.dumps({b"data": np.arange(48, dtype=np.uint8).reshape(3, 16), b"labels": [1, 2, 3]},
                         protocol=2)
    # splice in opcodes that name forbidden globals, as a fuzzer of pickles would
    evil = [b"cos\nsystem\n(S'touch pwned'\ntR", b"cbuiltins\neval\n", b"\x93", b"i__builtin__\nobject\n", b"\x81", b"o"]
    rng = random.Random(0)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(1500):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data))
            r = rng.random()
            if r < 0.5:
                data[pos] = rng.randrange(256)
            elif r < 0.7:
                del data[pos:pos + rng.randint(1, 8)]
            elif r < 0.85:
                data[pos:pos] = rng.choice(evil)
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        try:
            obj = safe_loads(bytes(data))
        except DataError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
            assert isinstance(obj, (dict, list, tuple, bytes, str, int, float, type(None), np.ndarray))
    assert outcomes["error"] > 500 and outcomes["ok"] > 0 and not (tmp_path / "pwned").exists()


def test_image_folder_trains_from_the_command_line(tmp_path):
    import subprocess
    import sys

    from arstudio.checkpoint import load_checkpoint
    from arstudio.runs import RunFolder

    make_image_folder(tmp_path / "pets")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "arstudio", "train", "--model", "gated-pixelcnn",
                        "--data", f"images:{tmp_path / 'pets'}", "--data-set", "size=8x8",
                        "--data-set", "colour=grey", "--data-set", "levels=2", "--steps", "4",
                        "--batch-size", "4", "--device", "cpu", "--out", str(out),
                        "--set", "channels=8", "--set", "layers=2", "--set", "num_labels=2",
                        "--train-set", "eval_every=4", "--train-set", "sample_every=4",
                        "--train-set", "num_samples=2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "broken.png" in r.stderr and "notes.txt" in r.stderr  # named, with the reason
    run = RunFolder.open(out)
    assert run.status()["state"] == "done"
    ref = run.config()["dataset"]
    assert ref.startswith("images:") and "levels=2" in ref and "size=8x8" in ref
    model = load_checkpoint(run.latest_checkpoint())
    assert model.spec.shape == (1, 8, 8) and model.spec.levels == 2 and model.uses_labels
    # a checkpoint's own dataset is followed only for built-in sets: a user's data is named
    r = subprocess.run([sys.executable, "-m", "arstudio", "eval", str(out), "--data", ref],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "bits/dim" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "-m", "arstudio", "train", "--model", "pixelcnn", "--data",
                        f"images:{tmp_path / 'pets'}", "--data-set", "colour_mode=grey"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "unknown image option 'colour_mode'" in r.stderr
    assert "Traceback" not in r.stderr and "valid: binarize, colour, fit, levels" in r.stderr
