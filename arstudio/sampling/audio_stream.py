"""Sound models as sound: which checkpoints are audio, codes <-> waves, and a
generation loop that streams NumPy chunks into a shared buffer.

No Qt here: the Listen tab (arstudio/gui/qt_listen.py) runs :func:`generate_into`
in a worker thread and reads the :class:`ClipBuffer` from a timer. Only NumPy
crosses the thread boundary; tensors stay in the worker.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SoundModel:
    """A sequence checkpoint whose data has a sample rate (``Dataset.extras``)."""
    path: Path
    model: str
    dataset: str
    rate: int
    length: int  # samples in one generated sequence (the spec's T)
    levels: int | None
    encoding: str  # "mu-law", "linear" (discrete levels spread over [-1, 1]) or "real"
    label_names: tuple[str, ...] = ()  # only for models that take a ``label=`` (``uses_labels``)
    test_bpd: float = float("inf")  # recorded in the checkpoint, when known

    @property
    def title(self) -> str:
        return f"{self.model} · {self.dataset} · {self.rate} Hz"


def _dataset_extras(name: str) -> dict:
    from arstudio.data import DataError, load_dataset

    try:
        return dict(load_dataset(name).extras)
    except (KeyError, ValueError, OSError, DataError):  # unknown or unreadable: just not a sound model
        return {}


def sound_model(path) -> SoundModel | None:
    """The checkpoint as a sound model, or None when it is not one (not a
    sequence model, or its data set has no sample rate)."""
    from arstudio.checkpoint import CheckpointError, dataset_named_by, read_metadata

    try:
        meta = read_metadata(path)
    except (CheckpointError, OSError):
        return None
    dataset = dataset_named_by(meta) or ""  # a built-in set only: never a file it points at
    spec = meta.get("spec", {})
    if spec.get("modality") != "sequence":
        return None
    extras = {}
    rate = meta.get("sample_rate")
    if rate is None:  # the data set says whether the numbers are sound
        extras = _dataset_extras(dataset)
        rate = rate or extras.get("sample_rate")
    if not rate:
        return None
    levels = spec.get("levels")
    default = "real" if levels is None else ("mu-law" if levels == 256 else "linear")
    encoding = meta.get("encoding") or extras.get("encoding") or default
    names = ()
    try:
        uses_labels = _uses_labels(path)
    except CheckpointError:  # metadata fine, weights damaged: not a model to offer
        return None
    if uses_labels:
        names = meta.get("label_names") or extras.get("label_names") or _dataset_extras(
            dataset).get("label_names") or ()
    return SoundModel(Path(path), meta.get("model", "?"), meta.get("dataset", "?"), int(rate),
                      int(spec["shape"][0]), levels, encoding, tuple(names),
                      float((meta.get("metrics") or {}).get("test_bpd") or float("inf")))


def _uses_labels(path) -> bool:
    """Whether the model takes class ids as ``label=`` (the trainer asks the same)."""
    from arstudio.checkpoint import load_checkpoint

    return bool(load_checkpoint(path, "cpu").uses_labels)


def sound_models(paths) -> list[SoundModel]:
    return [m for m in map(sound_model, paths) if m is not None]


def codes_to_wave(codes: np.ndarray, sound: SoundModel) -> np.ndarray:
    """Model values (T,) -> float32 wave in [-1, 1]."""
    if sound.encoding == "mu-law":
        mu = sound.levels - 1
        y = codes.astype(np.float64) / mu * 2 - 1
        return (np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu).astype(np.float32)
    if sound.encoding == "linear" or sound.levels is not None:
        return (codes.astype(np.float32) * (2.0 / (sound.levels - 1)) - 1.0).astype(np.float32)
    return np.clip(codes, -1, 1).astype(np.float32)


def wave_to_codes(wave: np.ndarray, sound: SoundModel) -> np.ndarray:
    """Float wave in [-1, 1] -> model values (the inverse of :func:`codes_to_wave`)."""
    a = np.clip(np.asarray(wave, dtype=np.float64), -1, 1)
    if sound.levels is None:
        return a.astype(np.float32)
    mu = sound.levels - 1
    if sound.encoding == "mu-law":
        a = np.sign(a) * np.log1p(mu * np.abs(a)) / np.log1p(mu)
    return np.clip(np.floor((a + 1) / 2 * mu + 0.5), 0, mu).astype(np.int64)


def spectrogram(wave: np.ndarray, window: int = 256, hop: int = 64) -> np.ndarray:
    """Log-magnitude STFT (frames, window // 2 + 1) in dB, Hann window."""
    wave = np.asarray(wave, dtype=np.float32)
    if len(wave) < window:
        wave = np.pad(wave, (0, window - len(wave)))
    frames = 1 + (len(wave) - window) // hop
    idx = np.arange(window)[None, :] + hop * np.arange(frames)[:, None]  # (frames, window)
    mag = np.abs(np.fft.rfft(wave[idx] * np.hanning(window).astype(np.float32), axis=1))
    return 20 * np.log10(mag + 1e-4)


@dataclass
class ClipBuffer:
    """The clip being generated: the worker writes, the GUI timer reads (under ``lock``)."""
    length: int
    wave: np.ndarray = None  # (length,) float32
    filled: int = 0  # samples written so far
    done: bool = False
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.wave = np.zeros(self.length, np.float32)

    def snapshot(self) -> tuple[np.ndarray, bool]:
        with self.lock:
            return self.wave[:self.filled].copy(), self.done


def generate_into(buffer: ClipBuffer, sound: SoundModel, temperature: float = 1.0, seed: int = 0,
                  prime: np.ndarray | None = None, label: int | None = None,
                  device: str = "cpu", chunk: int = 32) -> np.ndarray:
    """Runs in a worker: the cached sampler generates ``buffer.length`` samples,
    every ``chunk`` of them copied into the buffer as NumPy. The first
    ``len(prime)`` samples are kept from the prime (known/mask completion)."""
    import torch

    from arstudio.checkpoint import load_checkpoint

    model = load_checkpoint(sound.path, device)
    T = model.spec.shape[0]
    if not torch.equal(model.order.cpu(), torch.arange(T)):
        raise ValueError(f"{sound.model} does not generate left to right; cannot stream it as sound")
    n = min(buffer.length, T)
    known = mask = None
    primed = 0
    if prime is not None and len(prime):
        primed = min(len(prime), n - 1)
        codes = torch.as_tensor(wave_to_codes(prime[:primed], sound))
        known = torch.zeros((1, T), dtype=codes.dtype)
        known[0, :primed] = codes
        mask = torch.zeros((1, T), dtype=torch.bool)
        mask[0, :primed] = True
    cond = {}
    if model.uses_labels and label is not None:
        cond["label"] = torch.tensor([int(label)])
    generator = torch.Generator().manual_seed(int(seed))
    written = 0
    for step in model.sample_steps(1, known, mask, temperature, generator, **cond):
        made = step.step + 1
        if buffer.cancelled:
            break
        if made - written >= chunk or made >= n:
            part = step.x[0, written:made].detach().cpu().numpy()  # sequences go in order 0..T-1
            with buffer.lock:
                buffer.wave[written:made] = codes_to_wave(part, sound)
                buffer.filled = made
            written = made
        if made >= n:
            break
    with buffer.lock:
        buffer.done = True
    return buffer.wave[:written].copy()
