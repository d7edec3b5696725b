"""What the codec reads and writes: image files, WAV, text files or a data-set split in;
a .arz file; PNG, WAV or text back.

The coding itself is exact on the model's own representation: levels
0..K-1 per pixel, mu-law codes for sound, the 96-character alphabet for text.
Inputs in another representation are converted first (a greyscale PNG to K
levels, a WAV to mono 8-bit mu-law at the model's rate, tabs to spaces), and
the conversion is reported; files the studio writes (and the decompressor's
own output) convert back to exactly the same codes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arstudio.codec import coder
from arstudio.codec.coder import CodecError
from arstudio.codec.container import Header, read_arz, write_arz

IMAGE_SUFFIXES = (".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jpg", ".jpeg", ".pgm", ".ppm")
SOUND_SUFFIXES = (".wav", ".flac", ".ogg")
TEXT_SUFFIXES = (".txt", ".md", ".py", ".rst", ".csv")


@dataclass
class Items:
    """Rows of codes for one model, and how they map back to files."""

    kind: str  # "images", "sound", "text", "sequence"
    codes: torch.Tensor  # (rows, *shape) long
    lengths: list[int]  # coded dimensions of each row (the rest are padding)
    files: list[tuple[str, int]] | None = None  # (name, symbols) per input file; None: a row each
    labels: torch.Tensor | None = None  # (rows,) class ids for conditional models
    rate: int | None = None  # sound: samples per second
    notes: list[str] = field(default_factory=list)  # conversions worth telling the user

    @property
    def rows(self) -> int:
        return len(self.codes)


# --- inputs --------------------------------------------------------------------------

def sample_rate_for(model) -> int:
    meta = model.checkpoint_meta
    return 16000 if "16k" in str(meta.get("dataset", "")) else 8000


def _kind_of(path: Path) -> str:
    s = path.suffix.lower()
    if s in IMAGE_SUFFIXES:
        return "images"
    if s in SOUND_SUFFIXES:
        return "sound"
    if s in TEXT_SUFFIXES:
        return "text"
    raise CodecError(f"{path}: unknown kind of file (images: {' '.join(IMAGE_SUFFIXES)}; sound: "
                     f"{' '.join(SOUND_SUFFIXES)}; text: {' '.join(TEXT_SUFFIXES)})")


def read_image(path: Path, spec) -> torch.Tensor:
    """An image file as (C, H, W) levels of ``spec`` (nearest level of its 8-bit values)."""
    from arstudio.untrusted import FileRefused, open_image

    C, H, W = spec.shape
    try:
        with open_image(path) as im:
            im = im.convert("L" if C == 1 else "RGB")
            arr = np.asarray(im, dtype=np.float64)
    except FileRefused as e:
        raise CodecError(str(e)) from None
    except (OSError, ValueError) as e:
        raise CodecError(f"{path}: cannot read the image ({e})") from None
    if arr.shape[:2] != (H, W):
        raise CodecError(f"{path}: {arr.shape[1]}×{arr.shape[0]} pixels, but the model codes {W}×{H}")
    arr = arr.reshape(H, W, -1).transpose(2, 0, 1)[:C]
    return torch.from_numpy(np.rint(arr * (spec.levels - 1) / 255.0).astype(np.int64))


def _chunk(codes: torch.Tensor, length: int) -> tuple[torch.Tensor, list[int]]:
    """A 1-D code stream -> rows of ``length`` (the last padded with 0) and their lengths."""
    rows = max(1, math.ceil(len(codes) / length))
    out = torch.zeros(rows * length, dtype=torch.long)
    out[: len(codes)] = codes
    lengths = [min(length, len(codes) - r * length) for r in range(rows)]
    return out.view(rows, length), lengths


def load_files(model, paths) -> Items:
    """Image files, sound files or text files (one kind per call) for ``model``."""
    spec = model.spec
    paths = [Path(p) for p in paths]
    if not paths:
        raise CodecError("no input files")
    kinds = {_kind_of(p) for p in paths}
    if len(kinds) > 1:
        raise CodecError(f"mixed inputs ({', '.join(sorted(kinds))}): compress one kind per file")
    kind = kinds.pop()
    from arstudio.untrusted import FileRefused, check_file

    for p in paths:
        try:
            check_file(p, 1 << 40)  # a regular file (never a device or FIFO); each reader bounds its size
        except FileRefused as e:
            raise CodecError(str(e)) from None
    if kind == "images":
        if spec.modality != "image":
            raise CodecError(f"{model.registry_name} models {spec.describe()}, not images")
        codes = torch.stack([read_image(p, spec) for p in paths])
        return Items("images", codes, [spec.num_dims] * len(paths), [(p.name, spec.num_dims) for p in paths])
    if spec.modality != "sequence":
        raise CodecError(f"{model.registry_name} models {spec.describe()}; {kind} needs a sequence model")
    T = spec.shape[0]
    rows, lengths, files, notes, rate = [], [], [], [], None
    for p in paths:
        if kind == "sound":
            from arstudio.audio import AudioFileError, load_audio
            from arstudio.distributions import mu_law_encode

            rate = sample_rate_for(model)
            try:
                wave = load_audio(p, rate)
            except AudioFileError as e:
                raise CodecError(str(e)) from None
            stream = mu_law_encode(torch.from_numpy(np.asarray(wave, dtype=np.float32)), spec.levels)
            notes.append(f"{p.name}: coded as {spec.levels}-level mu-law at {rate} Hz, mono")
        else:
            from arstudio.data.text import LEVELS, encode_text

            if spec.levels != LEVELS:
                raise CodecError(f"{model.registry_name} has {spec.levels} levels, not the "
                                 f"{LEVELS}-character text alphabet")
            from arstudio.untrusted import MAX_TEXT_FILE_BYTES, read_text

            try:
                text = read_text(p, MAX_TEXT_FILE_BYTES, errors="replace")
            except FileRefused as e:
                raise CodecError(str(e)) from None
            stream = encode_text(text)
            if len(stream) == 0:
                raise CodecError(f"{p}: no characters of the 96-character text alphabet to code")
            changed = len(text) - len(stream) + text.count("\t")
            if changed:
                notes.append(f"{p.name}: {changed} characters outside the 96-character alphabet "
                             "were changed or dropped")
        r, ln = _chunk(stream.long(), T)
        rows.append(r)
        lengths += ln
        files.append((p.name, len(stream)))
    return Items(kind, torch.cat(rows), lengths, files, rate=rate, notes=notes)


def dataset_kind(data) -> str:
    enc = data.extras.get("encoding")
    if data.spec.modality == "image":
        return "images"
    return {"mu-law": "sound", "characters": "text"}.get(enc, "sequence")


def load_split(model, name: str, split: str = "test", n: int | None = None) -> Items:
    """The first ``n`` examples of a data set's split (all when None)."""
    from arstudio.data import load_dataset

    data = load_dataset(name)
    if data.spec != model.spec:
        raise CodecError(f"{name} is {data.spec.describe()} but the model codes {model.spec.describe()}")
    x = data.split(split)
    labels = data.labels.get(split)
    if n is not None:
        x = x[:n]
        labels = labels[:n] if labels is not None else None
    if not model.uses_labels:
        labels = None
    kind = dataset_kind(data)
    rate = data.extras.get("sample_rate", 8000) if kind == "sound" else None
    return Items(kind, x.long(), [model.spec.num_dims] * len(x), None, labels, rate)


# --- the file ----------------------------------------------------------------------

def model_key(checkpoint: Path) -> str:
    """A bundled model by name, any other checkpoint by its absolute path."""
    from arstudio.paths import BUNDLED_MODELS

    checkpoint = Path(checkpoint).resolve()
    if checkpoint.parent == BUNDLED_MODELS.resolve():
        return checkpoint.stem
    return str(checkpoint)


@dataclass
class Compressed:
    blob: bytes
    header_bytes: int
    payload_bytes: int
    bits: torch.Tensor  # (rows, *shape) cost of each coded symbol in bits (quantised model)
    nll_bits: torch.Tensor  # (rows,) the model's own -log2 p(x) (given the class), unquantised
    labels: torch.Tensor | None = None  # (rows,) the classes coded under (class-conditional models)
    label_bits: float = 0.0  # the payload's bits for the classes (when they differ from row to row)


def label_ids(model) -> int:
    """How many class ids a class-conditional model takes (its classes, and its "no label" id
    when it has one past them); 0 for a model without labels."""
    if not model.uses_labels:
        return 0
    k = int(model.num_labels)
    return k + 1 if model.no_label is not None and model.no_label >= k else k


def class_labels(model, items: Items, label: int | None = None) -> tuple[torch.Tensor | None, str | None]:
    """The class id of every row for a class-conditional model, and a sentence saying where
    they came from: ``label`` for every row when given, else the data set's labels (``items.labels``),
    else the model's "no label" id when it was trained with one. A class-conditional model with
    none of these is a one-line error asking for ``--label K``; a model without classes takes none."""
    name = model.registry_name
    if not model.uses_labels:
        if label is not None:
            raise CodecError(f"{name} is not class-conditional: a class (--label) does not apply")
        return None, None
    k, ids = int(model.num_labels), label_ids(model)
    if label is not None:
        if not 0 <= int(label) < ids:
            raise CodecError(f"class {label} is outside {name}'s classes 0–{k - 1}")
        return torch.full((items.rows,), int(label), dtype=torch.long), f"every row coded as class {int(label)}"
    if items.labels is not None:
        labels = items.labels.long().reshape(-1)
        if len(labels) != items.rows or int(labels.min()) < 0 or int(labels.max()) >= ids:
            raise CodecError(f"the data's labels do not fit {name}'s classes 0–{k - 1}")
        return labels, "each row coded under its class from the data set"
    if model.no_label is not None:
        return (torch.full((items.rows,), int(model.no_label), dtype=torch.long),
                f"coded with {name}'s \"no label\" id {model.no_label} (pass --label K for class K)")
    raise CodecError(f"{name} is class-conditional ({k} classes) and these inputs carry no class: "
                     f"pass --label K (0–{k - 1}) for the class they show")


def compress(model, key: str, items: Items, batch: int | None = None, progress=None,
             label: int | None = None) -> Compressed:
    """Code ``items`` with ``model``. A class-conditional model codes each row under its class
    (:func:`class_labels`: ``label``, else the data set's labels, else its "no label" id), and the
    file keeps the classes so that the decoder conditions the same way: one class for all rows
    in the header, or else the rows' classes coded ahead of the data (log2 of the number of
    ids each, counted in the payload)."""
    from arstudio.sampling.conditioning import map_needed

    if (why := map_needed(model, "compressing")) is not None:
        raise CodecError(why)
    labels, where = class_labels(model, items, label)
    if where is not None and where not in items.notes:
        items.notes.append(where)
    batch = int(batch or min(items.rows, coder.DEFAULT_BATCH))
    extras, coded_ids = {}, 0
    if items.files is not None:
        extras["files"] = [list(f) for f in items.files]
    if labels is not None:
        if bool((labels == labels[0]).all()):
            extras["label"] = int(labels[0])
        else:
            coded_ids = extras["label_ids"] = label_ids(model)
    if items.rate is not None:
        extras["rate"] = int(items.rate)
    words, result = coder.encode(model, items.codes, items.lengths, batch, labels, progress, coded_ids)
    spec = model.spec
    header = Header(items.kind, key, coder.weights_hash(model), spec.shape, spec.levels, batch,
                    items.rows, coder.data_checksum(items.codes), extras)
    head = header.pack()
    blob = write_arz(header, words)
    nll = coder.nll_bits(model, items.codes, labels) if all(
        ln == spec.num_dims for ln in items.lengths) else result.bits.flatten(1).sum(1)
    return Compressed(blob, len(head), len(blob) - len(head), result.bits, nll, labels, result.label_bits)


def header_of(blob: bytes, name: str = "file") -> Header:
    return read_arz(blob, name)[0]


def check_model(header: Header, model, name: str = "file") -> None:
    spec = model.spec
    mine = coder.weights_hash(model)
    if mine != header.weights:
        raise CodecError(f"{name} was compressed with {header.model_key} (weights {header.weights.hex()}), "
                         f"not with this {model.registry_name} (weights {mine.hex()}); "
                         "pass the model it was made with")
    if tuple(spec.shape) != tuple(header.shape) or spec.levels != header.levels:
        raise CodecError(f"{name} holds {header.levels}-level data of shape {header.shape}; "
                         f"the model codes {spec.describe()}")


def decode_words(model, header: Header, words, lengths=None, progress=None, watch=None) -> coder.WalkResult:
    """Run the decoder on a file's words with the classes the file keeps: version 2's one class
    (``label``) or classes coded ahead of the data (``label_ids``), version 1's list (``labels``)."""
    ex = header.extras
    labels, ids = None, 0
    if "label" in ex:
        labels = torch.full((header.rows,), int(ex["label"]), dtype=torch.long)
    elif "label_ids" in ex:
        ids = int(ex["label_ids"])
    elif "labels" in ex:  # version 1
        labels = torch.tensor(ex["labels"], dtype=torch.long)
    if model.uses_labels and labels is None and not ids and model.no_label is None:
        # (a model with a "no label" id, WaveNet, reads such a version 1 file under that id)
        raise CodecError(f"the file keeps no classes but {model.registry_name} is class-conditional: "
                         "it was not made with this model")
    return coder.decode(model, words, header.rows, lengths, header.batch, labels, progress, watch, ids)


def decompress(blob: bytes, model, name: str = "file", progress=None) -> Items:
    """Decode a .arz file with ``model`` (which must be the one it was made with)."""
    header, words = read_arz(blob, name)
    check_model(header, model, name)
    D = model.spec.num_dims
    files = [tuple(f) for f in header.extras["files"]] if "files" in header.extras else None
    if files is None or header.kind == "images":
        lengths = [D] * header.rows
    else:
        lengths = []
        for _, symbols in files:
            lengths += [min(D, symbols - r * D) for r in range(max(1, math.ceil(symbols / D)))]
    if len(lengths) != header.rows:
        raise CodecError(f"{name}: damaged header (file lengths do not add up to {header.rows} rows)")
    result = decode_words(model, header, words, lengths, progress)
    if coder.data_checksum(result.codes) != header.checksum:
        raise CodecError(f"{name}: decoded data fail the checksum: the probabilities differed from the "
                         "encoder's (another machine or library version?) or the file is damaged; "
                         "nothing was written")
    labels = result.labels
    return Items(header.kind, result.codes, lengths, files, labels, header.extras.get("rate"))


def write_items(items: Items, levels: int, out_dir) -> list[Path]:
    """PNG per image, WAV or text per input file (or per row for a data-set split)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if items.kind == "images":
        from PIL import Image

        names = [f[0] for f in items.files] if items.files else [f"{i:04d}.png" for i in range(items.rows)]
        for name, x in zip(names, items.codes):
            arr = np.rint(x.numpy().astype(np.float64) * 255.0 / (levels - 1)).astype(np.uint8)
            arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
            path = out_dir / (Path(name).stem + ".png")
            Image.fromarray(arr).save(path, format="PNG")
            written.append(path)
        return written
    streams = []  # (name, 1-D codes)
    flat = items.codes.reshape(items.rows, -1)
    if items.files:
        r = 0
        for name, symbols in items.files:
            n_rows = max(1, math.ceil(symbols / flat.shape[1]))
            streams.append((name, flat[r: r + n_rows].reshape(-1)[:symbols]))
            r += n_rows
    else:
        streams = [(f"{i:04d}", flat[i]) for i in range(items.rows)]
    for name, codes in streams:
        stem = Path(name).stem
        if items.kind == "sound":
            from arstudio.audio import save_wav
            from arstudio.distributions import mu_law_decode

            path = save_wav(out_dir / f"{stem}.wav", mu_law_decode(codes, levels).numpy(), items.rate or 8000)
        elif items.kind == "text":
            from arstudio.data.text import decode_text

            path = out_dir / f"{stem}.txt"
            path.write_text(decode_text(codes), encoding="utf-8")
        else:
            path = out_dir / f"{stem}.txt"
            path.write_text(" ".join(str(int(v)) for v in codes) + "\n")
        written.append(path)
    return written
