"""The optional TensorBoard extra: with it, a run also writes event files (scalars, sample
images, audio for sound) that TensorBoard's own reader reads back; without it, asking for
them is one clear message before any run folder exists."""
from __future__ import annotations

import builtins
import sys

import pytest

from arstudio.runs import run_training
from arstudio.training import TrainConfig

SMALL = {"channels": 8, "blocks": 1, "head_channels": 8}


def board(run_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_path / "tensorboard"), size_guidance={"images": 0, "audio": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_a_run_writes_tensorboard_scalars_and_sample_images(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    run = run_training("pixelcnn", "digits", tmp_path / "run", SMALL,
                       TrainConfig(steps=10, batch_size=8, log_every=2, eval_every=5, sample_every=10,
                                   checkpoint_every=10, num_samples=4, device="cpu", tensorboard=True))
    acc = board(run.path)
    tags = acc.Tags()
    assert [e.step for e in acc.Scalars("train/bits_per_dim")] == [2, 4, 6, 8, 10]
    assert [e.step for e in acc.Scalars("val/bits_per_dim")] == [5, 10]
    events, _ = run.events()
    done = next(e for e in events if e["event"] == "done")
    assert acc.Scalars("test/bits_per_dim")[0].value == pytest.approx(done["test_bpd"], rel=1e-6)
    val = [e["bpd"] for e in events if e["event"] == "eval" and e["split"] == "val"]
    assert [e.value for e in acc.Scalars("val/bits_per_dim")] == pytest.approx(val, rel=1e-6)
    assert "samples" in tags["images"] and acc.Images("samples")[-1].step == 10
    assert acc.Images("samples")[-1].width > 8  # the grid of four samples


def test_a_sound_run_writes_tensorboard_audio(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    run = run_training("wavenet", "tones", tmp_path / "sound",
                       {"residual_channels": 8, "dilation_channels": 8, "skip_channels": 8, "layers_per_stack": 2,
                        "stacks": 1, "num_labels": 12},
                       TrainConfig(steps=2, batch_size=2, crop=64, log_every=1, eval_every=2, sample_every=2,
                                   checkpoint_every=2, num_samples=1, eval_batch_size=64, device="cpu",
                                   tensorboard=True))
    acc = board(run.path)
    audio = acc.Audio("samples/audio")
    assert audio and audio[-1].step == 2 and audio[-1].sample_rate == 8000
    assert audio[-1].length_frames == 2048  # one whole tone-length sample


def test_without_the_extra_asking_for_it_is_one_message_before_a_run_folder(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    from arstudio.runs.tensorboard import TensorBoardMissing

    with pytest.raises(TensorBoardMissing, match=r"pip install -e \.\[tensorboard\]"):
        run_training("pixelcnn", "digits", tmp_path / "run", SMALL, TrainConfig(steps=2, tensorboard=True))
    assert not (tmp_path / "run").exists()
