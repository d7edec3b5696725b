"""A stranger's checkpoint: judged before it is built, refused in one bounded line.

The fuzz test loads a few hundred corrupted and hostile copies of two small bundled
checkpoints (tests/fuzz_checkpoints.py) in a subprocess whose address space is capped
at 1 GiB above what it had after importing torch: only CheckpointError or an intact load.
"""
import json
import os
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from arstudio.checkpoint import (
    HASH_KEY,
    MAX_MESSAGE_CHARS,
    CheckpointError,
    content_hash,
    dataset_named_by,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from arstudio.paths import BUNDLED_MODELS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
import fuzz_checkpoints as fz

SMALL = BUNDLED_MODELS / "pixelcnn-digits.safetensors"


def test_fuzz_corpus_only_refused_or_intact(tmp_path):
    files = fz.make_corpus(tmp_path / "corpus")
    assert len(files) >= 300
    family = fz.family_corpus(tmp_path / "corpus")  # the newer families, judged in the same process
    assert {f.name.split("__")[0] for f in family} == set(fz.FAMILIES)
    files += family
    out = tmp_path / "outcomes.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(Path(fz.__file__)), "judge", str(tmp_path / "corpus"), str(out),
                           str(1 << 30)], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(out.read_text())
    assert len(records) == len(files)
    counts = Counter(r["outcome"] for r in records)
    bad = [(r["file"], r["outcome"], r["message"]) for r in records if r["outcome"] not in ("refused", "intact")]
    assert not bad, bad[:10]
    assert counts["refused"] > 0.9 * len(records), counts
    assert all(len(r["message"]) <= MAX_MESSAGE_CHARS and "\n" not in r["message"] for r in records)
    by_name = {r["file"].split("__", 2)[2].rsplit(".", 1)[0] + "@" + r["file"].split("__")[0]: r for r in records}
    for bomb in ("signed-channels=8000", "signed-channels=10000000", "signed-blocks=1000000",
                 "signed-shape=[1, 2147483648, 21474836", "raw-meta-list", "raw-meta-deep-100k",
                 "header-deep", "nan-signed", "inf-signed", "signed-note=", "table-swap"):
        hits = [r for k, r in by_name.items() if k.startswith(bomb) and k.endswith("@pixelcnn-digits")]
        assert hits and all(r["outcome"] == "refused" for r in hits), (bomb, hits)
    for bomb in ("signed-hidden=[10000000]", "signed-hidden=[500, 1000000]", "nan-signed"):
        hits = [r for k, r in by_name.items() if k.startswith(bomb) and k.endswith("@made-digits-binary")]
        assert hits and all(r["outcome"] == "refused" for r in hits), (bomb, hits)
    for base in fz.FAMILIES:  # a huge width or depth, re-signed, of every newer family is refused
        hits = [r for k, r in by_name.items() if k.endswith("@" + base) and k.startswith(tuple(
            f"signed-{w}=1000000@" for w in ("channels", "hidden", "layers", "layers_per_stack", "residual_channels")))]
        assert hits and all(r["outcome"] == "refused" for r in hits), (base, hits)
    assert all(r["outcome"] == "intact" for k, r in by_name.items() if k.startswith("intact@"))
    flips = [r for r in records if "flip-data" in r["file"]]
    assert flips and all(r["outcome"] == "refused" for r in flips)  # the hash catches every one
    assert max(r["seconds"] for r in records) < 10, max(records, key=lambda r: r["seconds"])
    assert sum(r["seconds"] for r in records) < 0.15 * len(records)  # about 0.03 s a file unloaded
    assert max(r["rss_growth_mb"] for r in records) < 300  # far below the 5 GB bombs of the issue


def _edit_meta(src: Path, dst: Path, edit) -> Path:
    raw = src.read_bytes()
    _, header, data = fz.split_file(raw)
    meta = json.loads(header["__metadata__"]["arstudio"])
    header["__metadata__"]["arstudio"] = json.dumps(edit(meta))
    dst.write_bytes(fz.join_file(header, data))
    return dst


def test_save_writes_a_content_hash_and_load_checks_it(tmp_path):
    model = load_checkpoint(SMALL)
    path = save_checkpoint(model, tmp_path / "m.safetensors", extra={"dataset": "digits"})
    meta = read_metadata(path)
    assert meta[HASH_KEY] == content_hash(meta, model.state_dict())
    load_checkpoint(path)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x40  # one bit of one weight
    (tmp_path / "flipped.safetensors").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="content hash"):
        load_checkpoint(tmp_path / "flipped.safetensors")


def test_wrong_types_are_checkpoint_errors_not_crashes(tmp_path):
    cases = {"list": lambda m: [m], "spec-list": lambda m: {**m, "spec": [1, 8, 8]},
             "config-list": lambda m: {**m, "config": [32]}, "metrics-list": lambda m: {**m, "metrics": [1]},
             "deep": lambda m: {**m, "extra": fz._nested(50)}}
    for name, edit in cases.items():
        path = _edit_meta(SMALL, tmp_path / f"{name}.safetensors", edit)
        for reader in (read_metadata, load_checkpoint):
            with pytest.raises(CheckpointError) as info:
                reader(path)
            assert len(str(info.value)) <= MAX_MESSAGE_CHARS


def test_a_bomb_is_refused_on_meta_before_any_memory_is_used(tmp_path):
    import resource

    def bomb(m):
        m = {**m, "config": {**m["config"], "channels": 8000}}
        return {**m, HASH_KEY: content_hash(m, load_file(str(SMALL)))}  # the file's own tensors

    path = _edit_meta(SMALL, tmp_path / "bomb.safetensors", bomb)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match="refused before building"):
        load_checkpoint(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB: < 200 MB


def test_nan_weights_are_refused_even_with_a_valid_hash(tmp_path):
    model = load_checkpoint(SMALL)
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    path = save_checkpoint(model, tmp_path / "nan.safetensors")  # signed by the saver itself
    with pytest.raises(CheckpointError, match="NaN or Inf"):
        load_checkpoint(path)


def test_truncated_and_empty_files(tmp_path):
    raw = SMALL.read_bytes()
    for cut in (0, 7, 8, 100, len(raw) // 2, len(raw) - 1):
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError):
            load_checkpoint(p)
    p = tmp_path / "huge-header.safetensors"
    p.write_bytes(struct.pack("<Q", 2 ** 62) + raw[8:])
    with pytest.raises(CheckpointError, match="header length"):
        read_metadata(p)


def test_a_checkpoint_never_points_the_studio_at_a_file(tmp_path, capsys):
    from arstudio.cli import main

    assert dataset_named_by({"dataset": "digits"}) == "digits"
    for name in ("text:/dev/zero", "idx:/tmp", "audio:/", "no-such-set", 5, None):
        assert dataset_named_by({"dataset": name}) is None
    path = _edit_meta(SMALL, tmp_path / "zero.safetensors", lambda m: {**m, "dataset": "text:/dev/zero"})
    load_checkpoint(path)  # the dataset field is not part of the model: the file itself loads
    with pytest.raises(SystemExit) as info:
        main(["eval", str(path), "--device", "cpu"])
    assert "not a built-in set" in str(info.value) and "--data" in str(info.value)


def test_damaged_files_are_listed_as_damaged(tmp_path):
    import shutil

    from arstudio.bundled import list_bundled

    shutil.copy(SMALL, tmp_path / "good.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\0\0\0\0\0\0\0[1,2,3]         ")
    _edit_meta(SMALL, tmp_path / "listy.safetensors", lambda m: {**m, "metrics": [1]})
    _edit_meta(SMALL, tmp_path / "stranger.safetensors", lambda m: {**m, "dataset": "text:/dev/zero"})
    damaged = []
    found = list_bundled(tmp_path, damaged=damaged)
    assert sorted(b.key for b in found) == ["good", "stranger"]
    assert {b.key: b.dataset for b in found} == {"good": "digits", "stranger": "?"}
    assert sorted(p.name for p, _ in damaged) == ["junk.safetensors", "listy.safetensors"]
    assert all(len(why) <= MAX_MESSAGE_CHARS for _, why in damaged)


def test_every_bundled_model_carries_its_hash():
    for path in sorted(BUNDLED_MODELS.glob("*.safetensors")):
        assert HASH_KEY in read_metadata(path), path.name
