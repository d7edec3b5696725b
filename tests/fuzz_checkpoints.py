"""A corpus of damaged and hostile copies of small bundled checkpoints, and a judge that
loads each one under a memory cap (used by tests/test_robust_checkpoint.py).

    python tests/fuzz_checkpoints.py make DIR          # write the corpus
    python tests/fuzz_checkpoints.py judge DIR OUT.json  # load each file, record outcomes

Corruptions: byte flips in the header and in the tensor data, truncations, edits of the
tensor table, and metadata edits, both left unsigned (a damaged file) and re-signed with a
valid content hash (a hostile file made on purpose): huge widths and depths, lists for
objects, deep nesting, huge specs and strings, NaN/Inf weights. An outcome is ``refused``
(CheckpointError), ``intact`` (loaded, every tensor bit-identical to the original) or a
failure: ``damaged-accepted`` or ``other`` (any other exception).
"""
from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASES = {"pixelcnn-digits": 1.0, "made-digits-binary": 0.5}  # name -> share of the cases
HASH_KEY = "content_sha256"


def split_file(raw: bytes):
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return n, header, raw[8 + n:]


def join_file(header: dict, data: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def _tensors(raw: bytes):
    from safetensors.torch import load

    return load(raw)


def with_meta(raw: bytes, meta, resign: bool) -> bytes:
    """The file with its ARStudio metadata replaced (``meta`` may be any JSON, or a raw
    string); ``resign``: write a valid content hash for it, as a hostile author would."""
    from arstudio.checkpoint import content_hash

    _, header, data = split_file(raw)
    if resign and isinstance(meta, dict):
        meta = {**meta, HASH_KEY: content_hash(meta, _tensors(raw))}
    header["__metadata__"] = {"arstudio": meta if isinstance(meta, str) else json.dumps(meta)}
    return join_file(header, data)


def _nested(depth: int):
    obj = 1
    for _ in range(depth):
        obj = [obj]
    return obj


def meta_edits(meta: dict) -> list[tuple[str, object]]:
    """(name, new metadata) for one base checkpoint; the same edits go out unsigned and re-signed."""
    cfg, spec = meta["config"], meta["spec"]
    edits = []

    def config(**kw):
        return {**meta, "config": {**cfg, **kw}}

    width_key = "channels" if "channels" in cfg else "hidden"
    huge = {"channels": [8000, 10 ** 7, 2 ** 31, 2 ** 40, 0, -1, 33, "32", [32], {"a": 1}, None, 32.5, True],
            "hidden": [[10 ** 7], [10 ** 5], [500, 10 ** 6], [500] * 65, 10 ** 7, "500", {"a": 1}, [None]]}
    for v in huge[width_key]:
        edits.append((f"{width_key}={str(v)[:20]}", config(**{width_key: v})))
    depth_keys = [k for k in ("layers", "blocks", "masks", "ensemble", "first_kernel", "kernel", "head_channels")
                  if k in cfg]
    for k in depth_keys:
        for v in (10 ** 6, 10 ** 9, 0, -3, cfg[k] + 1):
            edits.append((f"{k}={v}", config(**{k: v})))
    edits.append(("config+unknown", config(bogus=1)))
    edits.append(("config-deep", config(x=_nested(200))))
    for shape in ([1, 2 ** 31, 2 ** 31], [1, 65536, 65536], [1, 2 ** 11, 2 ** 11], [1, 8, 9], [1, 8], [],
                  [0, 8, 8], [-1, 8, 8], "1,8,8", [1.5, 8, 8], [[1], 8, 8]):
        edits.append((f"shape={str(shape)[:24]}", {**meta, "spec": {**spec, "shape": shape}}))
    for levels in (10 ** 9, 1, 0, "2", spec["levels"] + 1, None):
        edits.append((f"levels={levels}", {**meta, "spec": {**spec, "levels": levels}}))
    edits.append(("modality=audio", {**meta, "spec": {**spec, "modality": "audio"}}))
    for key, value in (("spec", [1, 8, 8]), ("spec", None), ("config", [1, 2]), ("config", "x"),
                       ("metrics", [1, 2]), ("metrics", {"test_bpd": "low"}), ("dataset", {"a": 1}),
                       ("label_names", {"a": 1}), ("sample_rate", 1), ("sample_rate", "fast"),
                       ("step", "x"), ("parameters", -1), ("parameters", 10 ** 15), ("parameters", "many"),
                       ("parameters", meta["parameters"] - 1), ("format", "arstudio-checkpoint/9"),
                       ("model", "made" if meta["model"] != "made" else "nade"), ("model", "nonexistent"),
                       ("model", ""), ("model", 5), ("model", "x" * 5000), ("versions", []),
                       ("dataset", "text:/dev/zero"), ("dataset", "x" * 100_000), ("note", "x" * 2_000_000),
                       ("deep", _nested(40)), ("step", 1), ("metrics", {})):
        edits.append((f"{key}={str(value)[:20]}", {**meta, key: value}))
    edits.append(("drop-spec", {k: v for k, v in meta.items() if k != "spec"}))
    edits.append(("drop-config", {k: v for k, v in meta.items() if k != "config"}))
    return edits


def raw_meta_edits() -> list[tuple[str, str]]:
    return [("meta-list", "[1, 2, 3]"), ("meta-string", '"hello"'), ("meta-number", "42"),
            ("meta-null", "null"), ("meta-deep-100k", "[" * 100_000 + "]" * 100_000),
            ("meta-not-json", "{'model': 'pixelcnn'}"), ("meta-empty", "")]


def table_edits(raw: bytes) -> list[tuple[str, bytes]]:
    n, header, data = split_file(raw)
    names = sorted(k for k in header if k != "__metadata__")
    out = []
    h = json.loads(json.dumps(header))
    h[names[0]]["shape"] = [s * 2 for s in h[names[0]]["shape"]]
    out.append(("table-shape-doubled", join_file(h, data)))
    h = json.loads(json.dumps(header))
    h[names[0]]["shape"] = [2 ** 40]
    out.append(("table-shape-huge", join_file(h, data)))
    h = json.loads(json.dumps(header))
    h[names[0]]["dtype"] = "I32" if h[names[0]]["dtype"] == "F32" else "F32"
    out.append(("table-dtype", join_file(h, data)))
    h = json.loads(json.dumps(header))
    h[names[0]]["dtype"] = "F128"
    out.append(("table-dtype-unknown", join_file(h, data)))
    same = [(a, b) for a in names for b in names if a < b and header[a]["data_offsets"][1] - header[a]["data_offsets"][0]
            == header[b]["data_offsets"][1] - header[b]["data_offsets"][0] and header[a]["dtype"] == header[b]["dtype"]]
    if same:
        a, b = same[0]
        h = json.loads(json.dumps(header))
        h[a]["data_offsets"], h[b]["data_offsets"] = h[b]["data_offsets"], h[a]["data_offsets"]
        h[a]["shape"], h[b]["shape"] = h[b]["shape"], h[a]["shape"]
        out.append(("table-swap", join_file(h, data)))
    h = json.loads(json.dumps(header))
    del h[names[-1]]
    out.append(("table-missing-tensor", join_file(h, data)))
    h = json.loads(json.dumps(header))
    h["extra"] = dict(h[names[0]])
    out.append(("table-extra-overlapping", join_file(h, data)))
    h = json.loads(json.dumps(header))
    h[names[0]]["data_offsets"] = [0, 2 ** 62]
    out.append(("table-offsets-huge", join_file(h, data)))
    h = json.loads(json.dumps(header))
    h[names[0]] = [1, 2]
    out.append(("table-entry-list", join_file(h, data)))
    out.append(("table-list", join_file([1, 2], data) if False else
                struct.pack("<Q", 6) + b"[1, 2]" + data))
    for length in (0, 1, 2 ** 63, 2 ** 31, len(raw), n + 1, n - 1):
        out.append((f"header-length={length}", struct.pack("<Q", length) + raw[8:]))
    deep = b"{" + b'"a":{' * 50_000 + b"}" * 50_001
    out.append(("header-deep", struct.pack("<Q", len(deep)) + deep + data))
    return out


def nan_edits(raw: bytes, meta: dict) -> list[tuple[str, bytes]]:
    import torch
    from safetensors.torch import save

    from arstudio.checkpoint import content_hash

    out = []
    tensors = _tensors(raw)
    floats = sorted(k for k, t in tensors.items() if t.is_floating_point() and t.numel())
    for value in (float("nan"), float("inf"), float("-inf")):
        for resign in (True, False):
            t2 = {k: v.clone() for k, v in tensors.items()}
            t2[floats[0]].view(-1)[0] = value
            m = dict(meta)
            if resign:
                m[HASH_KEY] = content_hash(m, t2)
            else:
                m.pop(HASH_KEY)
            out.append((f"{value}-{'signed' if resign else 'unsigned'}",
                        save(t2, metadata={"arstudio": json.dumps(m)})))
    t2 = {k: v.clone() for k, v in tensors.items()}
    t2[floats[0]] += 1e-3
    out.append(("weights-changed-unsigned", with_meta(save(t2, metadata={"arstudio": json.dumps(meta)}), meta, False)))
    del torch
    return out


def corpus_writer(folder: Path):
    """The list of files written and ``put(base, name, blob)``, which writes one into
    ``folder`` as BASE__NNN__NAME.safetensors (the name says what was done to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []

    def put(base, name, blob):
        path = folder / f"{base}__{len(files):03d}__{name.replace('/', '_')[:60]}.safetensors"
        path.write_bytes(blob)
        files.append(path)

    return files, put


def make_corpus(folder: Path, seed: int = 22) -> list[Path]:
    """Write the corpus; returns the files. Names say what was done to each."""
    rng = random.Random(seed)
    files, put = corpus_writer(folder)

    for base, share in BASES.items():
        raw = (ROOT / "models" / f"{base}.safetensors").read_bytes()
        n, header, data = split_file(raw)
        meta = json.loads(header["__metadata__"]["arstudio"])
        for i in range(int(60 * share)):  # byte flips in the header (JSON, lengths, hash, table)
            b = bytearray(raw)
            for _ in range(rng.choice((1, 1, 2, 3))):
                pos = rng.randrange(8, 8 + n)
                b[pos] ^= 1 << rng.randrange(8)
            put(base, f"flip-header-{i}", bytes(b))
        for i in range(int(60 * share)):  # byte flips in the tensor data
            b = bytearray(raw)
            for _ in range(rng.choice((1, 1, 2, 8))):
                pos = rng.randrange(8 + n, len(raw))
                b[pos] ^= rng.randrange(1, 256)
            put(base, f"flip-data-{i}", bytes(b))
        for i, cut in enumerate(sorted({0, 4, 8, 9, 8 + n // 2, 8 + n, 8 + n + 1, len(raw) - 1,
                                        *(rng.randrange(len(raw)) for _ in range(int(20 * share)))})):
            put(base, f"truncate-{cut}", raw[:cut])
        put(base, "padded", raw + b"\0" * 16)
        for name, m in meta_edits(meta):
            put(base, f"edit-{name}", with_meta(raw, m, resign=False))
            put(base, f"signed-{name}", with_meta(raw, m, resign=True))
        for name, text in raw_meta_edits():
            put(base, f"raw-{name}", with_meta(raw, text, resign=False))
        for name, blob in table_edits(raw):
            put(base, name, blob)
        for name, blob in nan_edits(raw, meta):
            put(base, name, blob)
        put(base, "intact", raw)
    return files


FAMILIES = ("gated-pixelcnn-where-digits", "pixelcnn-vqvae-mnist5k", "vqvae-mnist5k", "docnade-docs",
            "wavenet-melodies-8k")  # newer families: a lighter corpus each (FAMILY_CASES)


def family_corpus(folder: Path, seed: int = 22) -> list[Path]:
    """A lighter corpus for each newer family: every whole-number setting of its config set to
    huge, zero and negative values (re-signed, as a hostile author would), a few byte flips
    and truncations, NaN weights with a valid hash, and the intact file."""
    rng = random.Random(seed)
    files, put = corpus_writer(folder)

    for base in FAMILIES:
        raw = (ROOT / "models" / f"{base}.safetensors").read_bytes()
        n, header, _ = split_file(raw)
        meta = json.loads(header["__metadata__"]["arstudio"])
        cfg = meta["config"]
        for key, value in sorted(cfg.items()):
            values = ((10 ** 6, 0, -1) if type(value) is int else
                      ([10 ** 7], [0], "x") if isinstance(value, list) else ())
            for v in values:
                put(base, f"signed-{key}={v}", with_meta(raw, {**meta, "config": {**cfg, key: v}}, resign=True))
        put(base, "signed-shape-huge", with_meta(raw, {**meta, "spec": {**meta["spec"], "shape": [1, 2 ** 16, 2 ** 16]}},
                                                 resign=True))
        for i in range(4):
            b = bytearray(raw)
            b[rng.randrange(8, 8 + n)] ^= 1 << rng.randrange(8)
            put(base, f"flip-header-{i}", bytes(b))
            b = bytearray(raw)
            b[rng.randrange(8 + n, len(raw))] ^= rng.randrange(1, 256)
            put(base, f"flip-data-{i}", bytes(b))
        for cut in (8 + n // 2, 8 + n + 1, len(raw) - 1):
            put(base, f"truncate-{cut}", raw[:cut])
        for name, blob in nan_edits(raw, meta)[:2]:  # NaN, signed and unsigned
            put(base, name, blob)
        put(base, "intact", raw)
    return files


def judge(folder: Path) -> list[dict]:
    """Load every file of the corpus; one record per file."""
    import resource
    import time

    import torch

    from arstudio.checkpoint import CheckpointError, load_checkpoint, read_header, upgrade

    def original(base):  # the file's tensors as today's model takes them (older layouts migrate on read)
        path = ROOT / "models" / f"{base}.safetensors"
        meta, table = read_header(path)
        return upgrade(path, meta, table, _tensors(path.read_bytes()))[2]

    bases = sorted({p.name.split("__")[0] for p in folder.glob("*.safetensors")})
    originals = {base: original(base) for base in bases}
    for base in bases:  # warm up: imports and first builds are not the corpus's cost
        load_checkpoint(ROOT / "models" / f"{base}.safetensors")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = []
    for path in sorted(folder.glob("*.safetensors")):
        base = path.name.split("__")[0]
        t0 = time.perf_counter()
        try:
            model = load_checkpoint(path)
        except CheckpointError as e:
            outcome, message = "refused", str(e)
        except BaseException as e:  # noqa: BLE001 - the point is to see anything else
            outcome, message = "other", f"{type(e).__name__}: {str(e)[:300]}"
        else:
            state, orig = model.state_dict(), originals[base]
            same = state.keys() == orig.keys() and all(
                state[k].dtype == orig[k].dtype and state[k].shape == orig[k].shape
                and torch.equal(state[k].reshape(-1).view(torch.uint8), orig[k].reshape(-1).view(torch.uint8))
                for k in orig)
            outcome, message = ("intact" if same else "damaged-accepted"), ""
        out.append({"file": path.name, "outcome": outcome, "message": message,
                    "seconds": time.perf_counter() - t0,
                    "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024})
    return out


def _cap_memory(extra_bytes: int) -> None:
    import resource

    with open("/proc/self/statm") as f:
        vm = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra_bytes, vm + extra_bytes))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1] == "make":
        print(len(make_corpus(Path(sys.argv[2]))))
    elif sys.argv[1] == "make-families":
        print(len(family_corpus(Path(sys.argv[2]))))
    else:
        import torch

        torch.set_num_threads(1)
        import arstudio.data.registry as data_registry
        import arstudio.models.registry as registry
        from arstudio.checkpoint import load_checkpoint  # noqa: F401  (imports before the cap)

        registry.load_all()
        data_registry.load_all()
        _cap_memory(int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 30)
        Path(sys.argv[3]).write_text(json.dumps(judge(Path(sys.argv[2])), indent=1))
