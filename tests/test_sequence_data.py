"""Procedural audio sets, the text corpus, user audio folders and text files."""
import math
import wave

import numpy as np
import pytest
import torch

from arstudio.audio import save_wav
from arstudio.data import DataError, list_datasets, load_dataset
from arstudio.data.audio_sets import PITCHES, make_audio_set, midi_hz
from arstudio.data.text import LEVELS, VOCAB, decode_text, encode_text
from arstudio.distributions import mu_law_decode


def dominant(x, rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1.0 / rate)[spectrum.argmax()]


def test_audio_sets_are_registered_at_both_rates():
    infos = {i.name: i for i in list_datasets()}
    for kind in ("tones", "chords", "chirps"):
        assert infos[kind].spec.shape == (2048,) and infos[kind].spec.levels == 256
        assert infos[f"{kind}-16k"].spec.shape == (4096,)
        assert infos[kind].license


def test_tones_are_deterministic_and_labelled_by_pitch():
    a = make_audio_set("tones", 8000)
    b = make_audio_set("tones", 8000)
    assert all(np.array_equal(a[k][0], b[k][0]) for k in a)
    waves, labels = a["test"]
    assert waves.shape == (120, 2048) and np.abs(waves).max() <= 1.0
    for i in range(0, 120, 7):  # the loudest partial is a harmonic of the labelled pitch
        f = dominant(waves[i], 8000) / midi_hz(PITCHES[labels[i]])
        assert abs(f - round(f)) < 0.05 and round(f) >= 1


def test_tones_dataset_is_mu_law_with_labels():
    d = load_dataset("tones")
    assert d.train.dtype == torch.long and (len(d.train), len(d.val), len(d.test)) == (960, 120, 120)
    assert 0 <= d.train.min() and d.train.max() <= 255
    assert d.extras["sample_rate"] == 8000 and d.extras["classes"] == 12
    assert torch.equal(d.labels["train"][:12], torch.arange(12))
    x = mu_law_decode(d.test[5]).numpy()
    f = dominant(x, 8000) / midi_hz(PITCHES[int(d.labels["test"][5])])
    assert abs(f - round(f)) < 0.05


def test_chirps_sweep_the_labelled_way():
    waves, labels = make_audio_set("chirps", 16000)["val"]
    for w, up in zip(waves[:6], labels[:6] == 0):
        first, last = dominant(w[:1024], 16000), dominant(w[-1024:], 16000)
        assert (last > first) == bool(up)


def test_text_corpus_round_trips():
    d = load_dataset("text")
    assert d.spec.shape == (128,) and d.spec.levels == LEVELS == len(VOCAB)
    assert len(d.train) > 500 and len(d.val) > 50
    text = decode_text(d.train[:4])
    assert torch.equal(encode_text(text), d.train[:4].reshape(-1))
    assert encode_text("a\tb\u00e9c") .tolist() == encode_text("a bc").tolist()


def test_user_text_file(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("The quick brown fox jumps over the lazy dog.\n" * 40, encoding="utf-8")
    d = load_dataset(f"text:{path}")
    assert d.spec.levels == LEVELS and len(d.train) + len(d.val) + len(d.test) == 45 * 40 // 128
    short = tmp_path / "short.txt"
    short.write_text("too short")
    with pytest.raises(DataError, match="short.txt"):
        load_dataset(f"text:{short}")


def write_wav(path, frames, rate, width=2):
    ints = np.round(frames * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())


def test_user_audio_folder_resamples_and_skips_bad_files(tmp_path):
    t = np.arange(44100) / 44100
    stereo = np.stack([0.5 * np.sin(2 * math.pi * 440 * t)] * 2, 1)
    write_wav(tmp_path / "a_stereo_44k.wav", stereo, 44100)
    save_wav(tmp_path / "b_mono_16k.wav", 0.4 * np.sin(2 * math.pi * 300 * np.arange(16000) / 16000), 16000)
    (tmp_path / "c_empty.wav").write_bytes(b"")
    (tmp_path / "d_fake.ogg").write_bytes(b"OggS but not really")
    (tmp_path / "e_notes.txt").write_text("not audio")
    with pytest.warns(UserWarning) as caught:
        d = load_dataset(f"audio:{tmp_path}")
    messages = " ".join(str(w.message) for w in caught)
    for bad in ("c_empty.wav", "d_fake.ogg", "e_notes.txt"):
        assert bad in messages
        assert any(bad in s for s in d.extras["skipped"])
    assert d.extras["sample_rate"] == 8000 and d.spec.shape == (2048,)
    assert len(d.train) + len(d.val) + len(d.test) == 8000 // 2048 * 2  # 1 s from each good file
    first = mu_law_decode(d.train[0]).numpy()
    assert abs(dominant(first, 8000) - 440) < 8  # resampled 44.1 kHz -> 8 kHz keeps the pitch


def test_user_audio_folder_with_nothing_usable(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="no usable audio"):
        load_dataset(f"audio:{tmp_path}")


def test_flac_and_ogg_files_load_resampled_to_mono(tmp_path):
    soundfile = pytest.importorskip("soundfile", reason="soundfile is a dependency; missing only in odd installs")
    t = np.arange(22050) / 22050
    stereo = np.stack([0.5 * np.sin(2 * math.pi * 330 * t), 0.5 * np.sin(2 * math.pi * 330 * t)], 1)
    soundfile.write(tmp_path / "a_24bit.flac", stereo, 22050, subtype="PCM_24")
    soundfile.write(tmp_path / "b_vorbis.ogg", stereo[:, 0], 22050, format="OGG", subtype="VORBIS")
    from arstudio.audio import load_audio

    for name in ("a_24bit.flac", "b_vorbis.ogg"):
        wave_ = load_audio(tmp_path / name, 8000)
        assert wave_.ndim == 1 and abs(len(wave_) - 8000) <= 2  # 1 s at the new rate
        assert abs(dominant(wave_, 8000) - 330) < 8
    d = load_dataset(f"audio:{tmp_path}")
    assert len(d.train) + len(d.val) + len(d.test) == 2 * (8000 // 2048)
