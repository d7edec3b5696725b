"""Sound of any length: every sound model continues past its training length,
WaveNet through its one fast path; `arstudio sample --seconds --out x.wav`; the
real-time bench."""
from __future__ import annotations

import wave

import numpy as np
import pytest
import torch

from arstudio.cli import main
from arstudio.models.registry import build_model, get_model_info
from arstudio.sampling.sequence import generate, stream
from arstudio.spec import DataSpec

SOUND_MODELS = ["wavenet", "causal-conv-arm", "rnn-arm", "linear-ar"]


@pytest.mark.parametrize("name", SOUND_MODELS)
def test_every_sound_model_generates_past_its_training_length(name):
    torch.manual_seed(0)
    T = 24
    model = build_model(name, DataSpec((T,), 16), **get_model_info(name).presets["tiny"]).eval()
    cond = {"label": torch.tensor([1])} if name == "wavenet" else {}
    assert model.any_length
    long = generate(model, 5 * T, 1, generator=torch.Generator().manual_seed(4), chunk=7, **cond)
    assert long.shape == (1, 5 * T) and long.min() >= 0 and long.max() < 16
    assert len(np.unique(long[0, 2 * T:])) > 1, "nothing was generated past the training length"
    # the training length through the shared sampler: the very same codes, same seed
    ref = model.sample(1, generator=torch.Generator().manual_seed(4), **cond)
    assert np.array_equal(long[:, :T], ref.numpy())
    # a prime is kept and continued
    prime = np.arange(10) % 16
    out = generate(model, 3 * T, 1, prime=prime[None], generator=torch.Generator().manual_seed(1), **cond)
    assert np.array_equal(out[0, :10], prime) and out.shape == (1, 3 * T)


def test_models_without_a_finite_context_stop_at_their_length():
    torch.manual_seed(0)
    model = build_model("text-transformer", DataSpec((12,), 8), **get_model_info("text-transformer").presets["tiny"])
    assert not model.any_length
    with pytest.raises(ValueError, match="at most its training length"):
        next(stream(model, 40))


def test_wavenet_long_run_matches_the_stepper_driven_one_position_at_a_time():
    """Past the training length (and across local-conditioning spans), the whole-chunk
    run equals the shared per-position loop on the same stepper and seed."""
    from arstudio.models._wavenet_fast import WaveNetStepper

    torch.manual_seed(0)
    model = build_model("wavenet", DataSpec((32,), 16), layers_per_stack=3, stacks=2, residual_channels=8,
                        dilation_channels=8, skip_channels=8, num_labels=2, local_channels=2,
                        local_hop=4).eval()
    length = 300
    local = torch.randn(1, 2, length // 4)
    cond = {"label": torch.tensor([1]), "local": local}
    x = torch.zeros(1, length, dtype=torch.long)
    stepper = WaveNetStepper(model, x, **cond)
    gen = torch.Generator().manual_seed(9)
    for t in range(length):
        x[:, t] = stepper.conditional(t, x).sample(1.0, gen)
    fast = WaveNetStepper(model, x, **cond)
    fast.local_span = 40  # recompute the local conditioning every 40 samples: seams inside
    got = np.concatenate([fast.sample_run(a, min(a + 33, length), 1.0, g)
                          for g in [torch.Generator().manual_seed(9)] for a in range(0, length, 33)], 1)
    assert np.array_equal(got, x.numpy())


def test_sample_seconds_writes_a_wav_of_that_length(tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert main(["sample", "wavenet-tones", "--seconds", "1.5", "--out", str(out), "--label", "C4",
                 "--device", "cpu"]) == 0
    line = capsys.readouterr().out
    assert "real-time factor" in line and "12,000 samples at 8000 Hz" in line
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 12000)
        pcm = np.frombuffer(w.readframes(12000), "<i2").astype(np.float32) / 32768
    # the model sings past its 2,048 training samples: the last half second is still C4
    tail = pcm[-4000:]
    spectrum = np.abs(np.fft.rfft(tail * np.hanning(len(tail))))
    peak = np.fft.rfftfreq(len(tail), 1 / 8000)[spectrum.argmax()]
    assert tail.std() > 0.02 and abs(peak / 261.63 - round(peak / 261.63)) < 0.06, peak
    assert main(["sample", "wavenet-tones", "--seconds", "0.1", "--out", str(out), "--label", "Z9"]) == 2


def test_wavenet_realtime_bench_prints_speed_and_agreement(capsys):
    from arstudio.bench import wavenet_realtime

    wavenet_realtime.main(["--seconds", "0.25", "--check", "48"])
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if "Hz" in line and "cpu (" in line]
    assert any("wavenet-tones" in r for r in rows) and any("16 kHz-sized" in r for r in rows)
    for row in rows:
        assert row.split()[-1] == "yes"  # the first samples equal the naive sampler's
        # the conditionals p(x_i | x_<i) agree with log_prob's within 1e-5; their logs too, or
        # (a confident model's logits reach hundreds, where float32's own steps are ~3e-5)
        # within 1e-6 of the largest |logit|
        diff, relative, dp = (float(v) for v in row.split()[-4:-1])
        assert dp < 1e-5, row
        assert diff < 1e-5 or relative < 1e-6, row
