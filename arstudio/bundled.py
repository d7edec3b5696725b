"""The pretrained models that ship in models/: ready to demo with no training."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arstudio.checkpoint import CheckpointError, dataset_named_by, read_metadata
from arstudio.paths import BUNDLED_MODELS


@dataclass(frozen=True)
class BundledModel:
    key: str  # file stem, e.g. "pixelcnn-digits"
    path: Path
    model: str
    dataset: str
    metadata: dict

    @property
    def num_dims(self) -> int:
        from math import prod

        return prod(self.metadata["spec"]["shape"])

    @property
    def takes_a_map(self) -> bool:
        """An image model conditioned on a painted map of where the digit goes (``local_map``)."""
        config = self.metadata.get("config") or {}
        return bool(config.get("local_channels")) and self.metadata.get("spec", {}).get("modality") == "image"

    @property
    def classes(self) -> int:
        """How many classes a class-conditional model takes (``label=``); 0 for the others."""
        config = self.metadata.get("config") or {}
        classes = config.get("num_labels") or config.get("num_classes") or 0  # today's name, or the old one
        return classes if isinstance(classes, int) and classes > 0 else 0

    @property
    def title(self) -> str:
        m = self.metadata.get("metrics", {})
        bpd = m.get("test_bpd")
        classes = self.classes
        conditional = f" · {classes} classes" if classes else ""
        if self.takes_a_map:
            conditional += " · painted place"  # conditioned on a map of where the digit goes
        return f"{self.model}{conditional} · {self.dataset}" + (f" · {bpd:.3f} bits/dim" if bpd is not None else "")


def list_bundled(folder: Path | None = None, damaged: list | None = None) -> list[BundledModel]:
    """The checkpoints in ``folder`` whose metadata reads cleanly. A damaged file is left
    out; pass a list as ``damaged`` to get ``(path, reason)`` for each one. ``dataset`` is
    the set the checkpoint names only when it is a built-in one ("?" otherwise): a file
    never makes the studio read data it points at."""
    from arstudio import paths

    out = []
    for path in sorted(Path(folder if folder is not None else paths.BUNDLED_MODELS).glob("*.safetensors")):
        try:
            meta = read_metadata(path)
        except (CheckpointError, OSError) as e:
            if damaged is not None:
                damaged.append((path, str(e)))
            continue
        out.append(BundledModel(path.stem, path, meta["model"], dataset_named_by(meta) or "?", meta))
    return out


def evaluate_bundled(bundled: BundledModel, device: str = "auto") -> dict:
    """Recompute a bundled model's test NLL and set it beside the recorded one."""
    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset
    from arstudio.devices import pick_device
    from arstudio.presets import PRESETS
    from arstudio.training import evaluate

    if bundled.dataset == "?":
        raise CheckpointError(f"{bundled.path}: names no built-in dataset to evaluate on")
    model = load_checkpoint(bundled.path, pick_device(device))
    data = load_dataset(bundled.dataset)
    # batches of 64 on a CPU: the convolutional bundles score their 500 test images in half
    # the time of batches of 256 (the activations stay in cache; the same figure)
    batch = 64 if model.device.type == "cpu" else 256
    nats, bpd = evaluate(model, data.test, batch, labels=data.labels.get("test"),
                         local=data.extras.get("local", {}).get("test"))
    preset = PRESETS.get(bundled.key)
    return {"nats": nats, "bpd": bpd, "parameters": model.num_parameters(),
            "recorded_bpd": bundled.metadata.get("metrics", {}).get("test_bpd", float("nan")),
            "published": preset.published if preset else ""}


# --- training histories: a bundled model's curves and a few of its sample grids, small, so Compare --
# overlays the curves and the Train tab's timeline scrubs the samples with no training
HISTORY_SUFFIX = ".history.json"
HISTORY_TRAIN_POINTS = 200  # training-loss points kept (evenly spaced, the last one always)
HISTORY_SNAPSHOTS = 6  # sample grids kept (evenly spaced over the run's saved ones, the last always)
HISTORY_SNAPSHOT_VALUES = 8192  # values per grid at most: 16 samples of 8×8, 9 of 28×28
HISTORY_SNAPSHOT_CHARS = 2000  # and its encoded text at most (fewer samples, or none, beyond)
HISTORY_MAX_BYTES = 16_000  # a shipped history file is at most this big (tests/test_bundled_histories.py)


def history_path(bundled_or_key, folder: Path = BUNDLED_MODELS) -> Path:
    key = getattr(bundled_or_key, "key", bundled_or_key)
    return Path(folder) / f"{key}{HISTORY_SUFFIX}"


def _encode_snapshot(step: int, x, levels: int) -> dict | None:
    """A saved sample grid as JSON: the first 16, 9, 4 or 1 samples (as many as fit in
    HISTORY_SNAPSHOT_VALUES), uint8 (bit-packed for 2 levels), zlib, base64. None for
    real-valued samples or levels beyond a byte."""
    import base64
    import zlib

    import numpy as np

    x = np.asarray(x)
    if not levels or levels > 256 or x.ndim < 2 or not np.issubdtype(x.dtype, np.integer):
        return None
    dims = int(np.prod(x.shape[1:]))
    for n in (16, 9, 4, 1):
        if n * dims > HISTORY_SNAPSHOT_VALUES or n > len(x) > 1:
            continue
        u8 = x[:n].astype(np.uint8)
        raw = np.packbits(u8.ravel()) if levels == 2 else u8.ravel()
        data = base64.b64encode(zlib.compress(raw.tobytes(), 9)).decode("ascii")
        if len(data) <= HISTORY_SNAPSHOT_CHARS:
            return {"step": int(step), "shape": list(u8.shape), "data": data}
    return None  # even one sample is too big to ship (long sound): the history keeps its curves only


def _decode_snapshot(entry: dict, levels: int):
    """(step, uint8 array) of :func:`_encode_snapshot`'s dict; ValueError when malformed."""
    import base64
    import binascii
    import zlib

    import numpy as np

    step, shape = int(entry["step"]), [int(d) for d in entry["shape"]]
    count = int(np.prod(shape)) if shape and all(0 < d <= 65_536 for d in shape) else 0
    if not 0 < count <= HISTORY_SNAPSHOT_VALUES or not isinstance(entry["data"], str):
        raise ValueError(f"snapshot of step {step}: shape {shape}")
    want = (count + 7) // 8 if levels == 2 else count
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.b64decode(entry["data"], validate=True), want + 1)
    except (binascii.Error, zlib.error) as e:
        raise ValueError(f"snapshot of step {step}: {e}") from e
    if len(raw) != want:
        raise ValueError(f"snapshot of step {step}: {len(raw)} bytes for shape {shape}")
    values = np.frombuffer(raw, np.uint8)
    if levels == 2:
        values = np.unpackbits(values)[:count]
    if values.size and int(values.max()) >= levels:
        raise ValueError(f"snapshot of step {step}: a value beyond {levels} levels")
    return step, values.reshape(shape).copy()


def write_history(run_path, key: str, folder: Path = BUNDLED_MODELS, note: str = "") -> Path:
    """A run's training curves (thinned) and a few of its sample grids as models/KEY.history.json:
    train and validation bits/dim by step, up to HISTORY_SNAPSHOTS sample grids by step, the test
    figure, the training time and the content hash of the run's final weights (so a history is
    only ever read beside the weights it trained); ``note`` says which run it came from."""
    import json

    import numpy as np

    from arstudio.atomic import atomic_write
    from arstudio.checkpoint import HASH_KEY, CheckpointError, read_metadata
    from arstudio.exports import curve_rows, thin
    from arstudio.runs import RunFolder

    run = RunFolder.open(run_path)
    rows = curve_rows(run)
    train = [[r["step"], round(r["bpd"], 5)] for r in rows if r["kind"] == "train" and r["bpd"] is not None]
    val = [[r["step"], round(r["bpd"], 5)] for r in rows
           if r["kind"] == "eval" and r["split"] == "val" and r["bpd"] is not None]
    events, _ = run.events()
    done = next((e for e in reversed(events) if e["event"] == "done"), {})
    try:
        meta = read_metadata(run.checkpoints_dir / "final.safetensors")
    except (CheckpointError, OSError):
        meta = {}
    levels = (meta.get("spec") or {}).get("levels")
    samples = []
    for step, png in thin(run.sample_grids(), HISTORY_SNAPSHOTS):
        try:
            x = np.load(png.with_suffix(".npy"), allow_pickle=False)
        except (OSError, ValueError):
            continue
        entry = _encode_snapshot(step, x, levels)
        if entry is not None:
            samples.append(entry)
    text = json.dumps({"key": key, "note": note, "model": run.config().get("model"),
                       "dataset": run.config().get("dataset"), "train": thin(train, HISTORY_TRAIN_POINTS),
                       "val": val, "samples": samples, "test_bpd": done.get("test_bpd"),
                       "seconds": done.get("elapsed"), "weights": meta.get(HASH_KEY)},
                      separators=(",", ":"))
    out = history_path(key, folder)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return out


def read_history(bundled) -> dict | None:
    """A bundled model's shipped history (see :func:`write_history`), or None: a missing or
    malformed file, or one written for other weights than the bundled file's, is no history,
    never an error. ``samples`` is a list of (step, uint8 array (n, *shape)) by step."""
    import json
    import math

    from arstudio.checkpoint import HASH_KEY

    path = history_path(bundled.key, bundled.path.parent)
    try:
        if path.stat().st_size > HISTORY_MAX_BYTES * 4:
            return None
        h = json.loads(path.read_text())
        pairs = {k: [(int(s), float(b)) for s, b in h[k]] for k in ("train", "val")}
        weights = h.get("weights")
        if weights is not None and weights != (bundled.metadata or {}).get(HASH_KEY, weights):
            return None  # the curves of some other weights
        spec = (bundled.metadata or {}).get("spec") or {}
        levels, shape = spec.get("levels"), list(spec.get("shape") or [])
        samples = [_decode_snapshot(e, levels) for e in h.get("samples") or []] if levels else []
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not all(math.isfinite(b) for k in pairs for _, b in pairs[k]):
        return None
    if shape and any(list(x.shape[1:]) != shape for _, x in samples):
        return None
    samples.sort(key=lambda sx: sx[0])
    return {**pairs, "samples": samples, "note": str(h.get("note", "")), "seconds": h.get("seconds"),
            "weights": weights}


def bundle_run(run_path, key: str, folder: Path = BUNDLED_MODELS, grid_n: int = 16,
               grid_device: str = "cpu", timed_n: int = 4) -> Path:
    """Copy a finished run's final checkpoint into models/ as KEY, with a model
    card (KEY.md) and examples: a sample grid (KEY.png) for images and vectors,
    a WAV (KEY.wav) for sound, a few lines of generated text in the card for
    text. The card's sampling time is measured on this machine's CPU for
    ``timed_n`` samples, with the threads torch is allowed here."""
    import shutil

    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset
    from arstudio.runs import RunFolder

    run = RunFolder.open(run_path)
    final = run.checkpoints_dir / "final.safetensors"
    if not final.is_file():
        raise ValueError(f"{run.path} has no final checkpoint; finish the run first")
    events, _ = run.events()
    started = next(e for e in events if e["event"] == "started")
    done = next(e for e in reversed(events) if e["event"] == "done")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.safetensors"
    shutil.copyfile(final, target)
    cfg = run.config()
    data = load_dataset(cfg["dataset"])
    model = load_checkpoint(target, "cpu")
    sample_s = _sampling_seconds(model, data, timed_n)
    grid_model = load_checkpoint(target, grid_device)
    x = grid_model.sample(grid_n, generator=torch.Generator().manual_seed(0),
                          **_labels(grid_model, data, grid_n)).cpu()
    examples = _write_examples(x, model, data, folder, key)
    write_history(run.path, key, folder, note=f"the run that trained these weights ({run.path.name})")
    meta = model.checkpoint_meta
    (folder / f"{key}.md").write_text(f"""# {key}

- model: `{meta['model']}` ({meta['parameters']:,} parameters), config `{meta['config']}`
- data: `{cfg['dataset']}` ({model.spec.describe()})
- training: {_training_line(cfg['train'], done, started['device'])}
- test NLL: **{done['test_nats']:.2f} nats per example, {done['test_bpd']:.4f} bits/dim**
- sampling {timed_n} examples on a CPU ({torch.get_num_threads()} thread(s)): {sample_s:.1f} s
- reproduce: `arstudio train --preset {key}` (the recipe in `arstudio/presets.py`; where it sets a time budget, the step count depends on the machine)
- check: `arstudio eval {key}`

{examples}
""")
    return target


def _sampling_seconds(model, data, n: int) -> float:
    """The card's figure: wall time of ``n`` samples, seed 1, on the model's device."""
    import time

    import torch

    t0 = time.perf_counter()
    model.sample(n, generator=torch.Generator().manual_seed(1), **_labels(model, data, n))
    return time.perf_counter() - t0


def _labels(model, data, n) -> dict:
    """Conditional models sample one example per class in turn, like the trainer's grid;
    models with local conditioning take the validation examples' series or maps."""
    import torch

    kw = {}
    if model.uses_labels:
        kw["label"] = torch.arange(n, device=model.device) % int(data.extras.get("classes", 1))
    local = data.extras.get("local", {}).get("val")
    if local is not None and model.uses_local:  # melodies: the validation examples' notes
        kw["local"] = local[torch.arange(n) % len(local)].to(model.device)
    return kw


def _training_line(train: dict, done: dict, device: str) -> str:
    if train.get("closed_form"):
        return f"closed-form fit (`fit`, no gradient steps), {done['elapsed']:.0f} s on {device}"
    batch = f"batch {train['batch_size']}"
    if train.get("crop"):
        batch += f" random {train['crop']}-step windows"
    extra = f", {train['label_dropout']:.0%} of labels dropped" if train.get("label_dropout") else ""
    if train.get("weight_decay"):
        extra += f", {train.get('optimizer', 'adam')} weight decay {train['weight_decay']}"
    return (f"{done['step']} steps, {batch}, lr {train['lr']}{extra}, seed {train['seed']}, "
            f"{done['elapsed']:.0f} s on {device}; weights with the best validation NLL kept")


def _write_examples(x, model, data, folder: Path, key: str) -> str:
    """Generated examples in the form that suits the data; returns the card's lines."""
    if not model.autoregressive or data.name.startswith("vqcodes:"):  # a VQ-VAE or its prior
        from arstudio.training.codes import latent_card

        return latent_card(model, data, folder, key)
    rate = data.extras.get("sample_rate")
    if rate:
        import numpy as np

        from arstudio.audio import save_wav
        from arstudio.distributions import mu_law_decode

        gap = np.zeros(int(rate) // 8, dtype=np.float32)  # 1/8 s of silence between samples
        waves = [mu_law_decode(row, model.spec.levels).numpy() for row in x[:4]]
        save_wav(folder / f"{key}.wav", np.concatenate([w for wave in waves for w in (wave, gap)]), rate)
        names = data.extras.get("label_names") if model.uses_labels else None
        which = f" (labels {', '.join(names[i % len(names)] for i in range(len(waves)))})" if names else ""
        return f"Four generated samples{which}, {rate} Hz: [{key}.wav]({key}.wav)"
    if data.extras.get("encoding") == "words":  # bags of words (DocNADE): documents and topics
        from arstudio.data.documents import decode_words

        vocab = data.extras["vocabulary"]
        docs = [decode_words(row, vocab) for row in x[:4]]
        topics = [" ".join(t) for t in model.topic_words(vocab, 8)[:6]] if hasattr(
            model, "topic_words") else []
        lines = "Generated documents (four samples, words in generation order):\n\n```\n" + "\n".join(docs) + "\n```"
        if topics:
            lines += "\n\nTopics (the 8 words with the largest input weights of hidden units 0-5):\n\n```\n" + \
                "\n".join(topics) + "\n```"
        return lines
    if data.extras.get("encoding") == "characters":
        from arstudio.data.text import decode_text

        lines = [decode_text(row).replace("`", "'") for row in x[:4]]
        return "Generated text (four samples):\n\n```\n" + "\n".join(lines) + "\n```"
    from arstudio.imaging import samples_png

    samples_png(x, model.spec, folder / f"{key}.png")
    return f"![samples]({key}.png)"


def retime_card(key: str, folder: Path = BUNDLED_MODELS, timed_n: int = 4) -> float:
    """Measure a bundled model's CPU sampling time again (after a faster sampler
    lands) and rewrite that line of its card; returns the seconds."""
    import re

    import torch

    from arstudio.checkpoint import load_checkpoint
    from arstudio.data import load_dataset

    model = load_checkpoint(folder / f"{key}.safetensors", "cpu")
    name = dataset_named_by(model.checkpoint_meta)
    if name is None:
        raise CheckpointError(f"{key}: names no built-in dataset")
    data = load_dataset(name)
    seconds = _sampling_seconds(model, data, timed_n)
    card = folder / f"{key}.md"
    line = f"- sampling {timed_n} examples on a CPU ({torch.get_num_threads()} thread(s)): {seconds:.1f} s"
    text, n = re.subn(r"^- sampling \d+ examples on (a|this) CPU.*$", line, card.read_text(), flags=re.MULTILINE)
    if n != 1:
        raise ValueError(f"{card} has no sampling-time line to update")
    card.write_text(text)
    return seconds
