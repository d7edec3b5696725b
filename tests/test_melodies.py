"""Melodies: synthetic instruments with the score as a local series; the trainer's local
conditioning (crops on whole frames); the bundled melody WaveNet plays a written tune."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.data import melodies
from arstudio.models.registry import build_model
from arstudio.spec import DataSpec
from arstudio.training import TrainConfig
from arstudio.training.trainer import _augment


def test_score_parsing_and_local_series():
    notes = melodies.parse_score("C4 E4:2 - G4:0.5")
    assert notes == [(0, 32), (2, 64), (None, 32), (4, 16)]
    local = melodies.local_series("C4 E4:2 - G4:0.5", length=200 * 128)
    assert local.shape == (melodies.CHANNELS, 200)
    assert local[1, :32].all() and local[3, 32:96].all() and local[0, 96:128].all() and local[5, 128:144].all()
    assert local[0, 144:].all()  # padded with rests
    assert local[melodies.ONSET].nonzero().flatten().tolist() == [0, 32, 128]
    assert torch.equal(local[:-1].sum(0), torch.ones(200))  # one of rest/notes in every frame
    with pytest.raises(ValueError, match="notes are"):
        melodies.parse_score("H4")


def test_instruments_sound_at_the_written_pitch_with_their_own_timbre():
    spectra = []
    for inst in range(3):
        wave = melodies.render([(4, 64)], inst)  # G4 for 0.512 s
        spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
        freqs = np.fft.rfftfreq(len(wave), 1 / melodies.RATE)
        assert abs(freqs[spectrum.argmax()] - melodies.note_hz("G4")) < 4
        spectra.append(spectrum / spectrum.max())
    even = lambda s: s[np.abs(np.fft.rfftfreq(8192, 1 / 16000) - 2 * melodies.note_hz("G4")).argmin()]
    assert even(spectra[1]) < 0.05 < even(spectra[2])  # the clarinet lacks even harmonics, the pluck not


def test_trainer_crops_the_local_series_with_the_audio():
    hop, frames = 4, 16
    x = torch.arange(frames * hop).repeat(6, 1) // hop  # each sample holds its frame's index
    local = torch.arange(frames).float().repeat(6, 3, 1)  # (B, C, frames)
    model = build_model("wavenet", DataSpec((frames * hop,), 16), layers_per_stack=2, stacks=1,
                        local_channels=3, local_hop=hop)
    xb, _, lc = _augment(model, TrainConfig(crop=12), x, None, torch.Generator().manual_seed(0), local)
    assert xb.shape == (6, 12) and lc.shape == (6, 3, 3)
    for b in range(6):
        assert torch.equal(xb[b, ::hop].float(), lc[b, 0])  # the window's frames, aligned
    with pytest.raises(ValueError, match="multiple of the local"):
        _augment(model, TrainConfig(crop=10), x, None, torch.Generator(), local)
