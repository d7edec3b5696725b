"""The trainer, the run folder and the command line, on real small runs."""
import json
import math
import os
import subprocess
import sys
import time

import pytest
import torch

from arstudio import build_model, load_checkpoint, load_dataset
from arstudio.checkpoint import CheckpointError, save_checkpoint
from arstudio.models.registry import get_model_info
from arstudio.runs import RunFolder, run_training
from arstudio.training import (
    Checkpoint,
    Done,
    Eval,
    Samples,
    Started,
    Step,
    TrainConfig,
    TrainingError,
    train,
)

SMALL = {"channels": 8, "layers": 1, "head_channels": 8}
FAST = dict(steps=12, batch_size=32, log_every=4, eval_every=6, sample_every=12, checkpoint_every=6,
            num_samples=4, device="cpu")


def test_trainer_event_stream():
    data = load_dataset("digits-binary")
    model = build_model("pixelcnn", data.spec, **SMALL)
    events = list(train(model, data, TrainConfig(**FAST)))
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Done
    assert [e.step for e in events if isinstance(e, Step)] == [4, 8, 12]
    evals = [(e.step, e.split) for e in events if isinstance(e, Eval)]
    assert evals == [(6, "val"), (12, "val"), (12, "test")]
    samples = [e for e in events if isinstance(e, Samples)]
    assert samples[0].samples.shape == (4, 1, 8, 8)
    ckpts = [e for e in events if isinstance(e, Checkpoint)]
    assert [c.step for c in ckpts] == [6, 12] and "test_bpd" in ckpts[-1].metrics
    done = events[-1]
    assert math.isclose(done.test_bpd, done.test_nats / (64 * math.log(2)))


def test_control_can_stop_between_steps():
    data = load_dataset("digits-binary")
    model = build_model("pixelcnn", data.spec, **SMALL)
    calls = {"n": 0}

    def control():
        calls["n"] += 1
        return "stop" if calls["n"] > 5 else None

    events = list(train(model, data, TrainConfig(**FAST), control=control))
    assert events[-1].stopped_early and events[-1].step == 5


def test_run_folder_contents(tmp_path):
    run = run_training("pixelcnn", "digits-binary", tmp_path / "run", SMALL, TrainConfig(**FAST))
    cfg = run.config()
    assert cfg["model"] == "pixelcnn" and cfg["dataset"] == "digits-binary" and cfg["seed"] == 0
    assert cfg["versions"]["torch"] == torch.__version__
    events, offset = run.events()
    assert offset == run.events_path.stat().st_size
    assert events[0]["event"] == "started" and events[-1]["event"] == "done"
    assert run.status()["state"] == "done"
    assert [p.name for p in run.checkpoints()] == ["step_000006.safetensors", "final.safetensors"]
    assert run.sample_grids()[0][0] == 12 and run.sample_grids()[0][1].stat().st_size > 0
    model = load_checkpoint(run.latest_checkpoint())
    assert model.checkpoint_meta["dataset"] == "digits-binary"
    assert model.checkpoint_meta["metrics"]["test_bpd"] == pytest.approx(events[-1]["test_bpd"])
    with pytest.raises(Exception, match="already holds a run"):
        RunFolder.create(run.path, cfg)


def test_partial_event_line_waits(tmp_path):
    run = RunFolder.create(tmp_path / "r", {"model": "x"})
    run.append_event({"event": "step", "step": 1})
    with open(run.events_path, "a") as f:
        f.write('{"event": "st')  # a writer caught mid-line
    events, offset = run.events()
    assert [e["step"] for e in events] == [1]
    with open(run.events_path, "a") as f:
        f.write('ep", "step": 2}\n')
    more, _ = run.events(offset)
    assert [e["step"] for e in more] == [2]


def test_nan_loss_fails_cleanly_and_keeps_checkpoint(tmp_path):
    cfg = TrainConfig(**{**FAST, "lr": 1e30, "schedule": "constant", "warmup": 0, "checkpoint_every": 1,
                         "grad_clip": 0})
    with pytest.raises(TrainingError, match="loss became"):
        run_training("pixelcnn", "digits-binary", tmp_path / "run", SMALL, cfg)
    run = RunFolder.open(tmp_path / "run")
    assert run.status()["state"] == "failed" and "loss became" in run.status()["message"]
    events, _ = run.events()
    assert events[-1]["event"] == "error"
    for ckpt in run.checkpoints():  # every checkpoint written before the failure still opens
        load_checkpoint(ckpt)


def test_corrupt_checkpoint_says_why(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="not an ARStudio checkpoint"):
        load_checkpoint(bad)
    model = build_model("pixelcnn", load_dataset("digits").spec, **SMALL)
    good = save_checkpoint(model, tmp_path / "good.safetensors")
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])  # truncated download / disk full
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(good)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "arstudio", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def _cli_here(capfd, *args):
    """``arstudio ARGS`` run in this process (``python -m arstudio`` is ``SystemExit(main())``;
    the entry point's own process is tested by the --help tests): what the shell would see,
    as a CompletedProcess; output read at the file descriptors, as a pipe would."""
    from arstudio.cli import main

    capfd.readouterr()
    try:
        rc = main(list(args))
    except SystemExit as e:  # the interpreter prints a string code on stderr, exit 1
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(["arstudio", *args], rc or 0, out, err)


def test_cli_train_eval_sample(tmp_path, capfd):
    out = tmp_path / "run"
    r = _cli_here(capfd, "train", "--model", "pixelcnn", "--data", "digits", "--steps", "8", "--device", "cpu",
             "--set", "channels=8", "--set", "layers=1", "--train-set", "eval_every=4", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "pixelcnn on digits: test" in r.stdout and "bits/dim" in r.stdout
    assert "8/8" in r.stderr and "step/s" in r.stderr  # the progress bar, with its rate
    r = _cli_here(capfd, "eval", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    done = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()][-1]
    assert f"{done['test_bpd']:.4f} bits/dim" in r.stdout
    r = _cli_here(capfd, "sample", str(out), "--n", "4", "--out", str(tmp_path / "g.png"), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    from PIL import Image

    assert Image.open(tmp_path / "g.png").size[0] > 8


def test_cli_errors_are_messages(tmp_path, capfd):
    r = _cli_here(capfd, "train", "--model", "nope", "--data", "digits", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown model 'nope'" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    r = _cli_here(capfd, "eval", str(tmp_path / "bad.safetensors"))
    assert r.returncode != 0 and "cannot open checkpoint" in r.stderr and "Traceback" not in r.stderr
    r = _cli_here(capfd, "sample", str(tmp_path / "missing"))
    assert r.returncode != 0 and "not a run folder" in r.stderr


HEAVY = ("torch", "PySide6", "shiboken6", "pyqtgraph")


def _wall(cmd) -> tuple[float, subprocess.CompletedProcess]:
    """The fastest of three runs of ``cmd`` in a fresh process (seconds) and its result."""
    best, result = math.inf, None
    for _ in range(3):
        t0 = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        best = min(best, time.perf_counter() - t0)
    return best, result


def test_help_is_quick_and_lists_commands():
    """``arstudio --help`` in a fresh process answers within 3 s of wall time (0.9 s on a
    machine loaded 8x over its cores), faster than importing torch alone, and imports
    neither torch nor Qt on the way."""
    help_s, r = _wall([sys.executable, "-m", "arstudio", "--help"])
    assert r.returncode == 0 and "train" in r.stdout and "bench" in r.stdout
    torch_s, _ = _wall([sys.executable, "-c", "import torch"])
    assert help_s < 3.0 and help_s < torch_s, (help_s, torch_s)
    probe = ("import sys\nfrom arstudio.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "usage: arstudio" in r.stdout, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "LOADED []"


def test_train_help_is_quick_lists_every_setting_and_imports_no_torch():
    """``arstudio train --help`` (every trainer setting with its default) reads TrainConfig
    from the torch-free arstudio/train_config.py: quicker than importing torch, no torch loaded."""
    import dataclasses

    from arstudio.config_check import describe_settings
    from arstudio.train_config import TrainConfig as Moved

    assert Moved is TrainConfig  # the old import path (arstudio.training) is the same class
    help_s, r = _wall([sys.executable, "-m", "arstudio", "train", "--help"])
    assert r.returncode == 0, r.stderr
    rows = describe_settings(TrainConfig)
    assert [n for n, _, _ in rows] == [f.name for f in dataclasses.fields(TrainConfig)]
    for name, default, _ in rows:
        assert f"{name}={default}" in r.stdout, name
    t0 = time.perf_counter()  # once: a slower measurement only makes the comparison easier
    subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=300)
    torch_s = time.perf_counter() - t0
    assert help_s < 3.0 and help_s < torch_s, (help_s, torch_s)
    probe = ("import sys\nfrom arstudio.cli import main\n"
             "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "trainer settings" in r.stdout, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "LOADED []"


def test_time_budget_stops_and_still_tests():
    data = load_dataset("digits-binary")
    model = build_model("pixelcnn", data.spec, **SMALL)
    events = list(train(model, data, TrainConfig(**{**FAST, "max_minutes": 0.0})))
    done = events[-1]
    assert isinstance(done, Done) and done.stopped_early and done.step == 0
    assert any(isinstance(e, Eval) and e.split == "test" for e in events)


def get_tiny(name):
    return get_model_info(name).presets["tiny"]


def test_crop_trains_on_windows_and_scores_whole_sequences(monkeypatch):
    import dataclasses

    data = load_dataset("tones")
    # every training sequence; 16 whole sequences to score in val and test (the 120 of each
    # split took most of the test's time, and the claim is about their length, not their number)
    data = dataclasses.replace(data, val=data.val[:16], test=data.test[:16],
                               labels={**data.labels, "val": data.labels["val"][:16],
                                       "test": data.labels["test"][:16]})
    model = build_model("wavenet", data.spec, **{**get_tiny("wavenet"), "num_labels": 12})
    seen, original = [], model.loss

    def loss(x, **cond):
        seen.append((x.clone(), cond.get("label")))
        return original(x, **cond)

    monkeypatch.setattr(model, "loss", loss)  # a spy on the real loss, not a replacement
    config = TrainConfig(**{**FAST, "sample_every": 0, "crop": 64, "label_dropout": 0.5, "steps": 6})
    events = list(train(model, data, config))
    assert all(x.shape == (32, 64) for x, _ in seen)
    # every window is a real slice of some training sequence, and the windows start in different places
    windows = data.train.unfold(1, 64, 1)  # (N, positions, 64): every window of every sequence (a view)

    def found(row):  # (sequence, start) of every window equal to row, in (sequence, start) order
        at = (windows[..., 0] == row[0]).nonzero()  # those whose first sample matches, then all 64
        return at[(windows[at[:, 0], at[:, 1]] == row).all(-1)]

    for row in seen[0][0][:8]:
        assert len(found(row))
    starts = {int(found(row)[0, 1]) for row in seen[0][0]}
    assert len(starts) > 4
    labels = torch.cat([lb for _, lb in seen])
    no_label = labels == model.no_label
    assert 0.3 < no_label.float().mean() < 0.7 and (labels[~no_label] < model.no_label).all()
    # the training curve is per dimension of the window; test figures are for whole sequences
    step = next(e for e in events if isinstance(e, Step))
    assert math.isclose(step.bpd, step.loss / (64 * math.log(2)), rel_tol=1e-6)
    done = events[-1]
    assert math.isclose(done.test_bpd, done.test_nats / (data.spec.num_dims * math.log(2)))


def test_crop_and_label_dropout_refused_where_meaningless():
    data = load_dataset("digits-binary")
    model = build_model("pixelcnn", data.spec, **SMALL)
    with pytest.raises(ValueError, match="sequence"):
        list(train(model, data, TrainConfig(**{**FAST, "crop": 4})))
    with pytest.raises(ValueError, match="no label"):
        list(train(model, data, TrainConfig(**{**FAST, "label_dropout": 0.1})))


def test_closed_form_fit_through_the_trainer_equals_least_squares():
    data = load_dataset("tones")
    config = {"order": 8, "companding": "mu-law"}
    direct = build_model("linear-ar", data.spec, **config).fit(data.train)
    model = build_model("linear-ar", data.spec, **config)
    events = list(train(model, data, TrainConfig(device="cpu", closed_form=True, sample_every=0)))
    assert [type(e) for e in events] == [Started, Eval, Eval, Checkpoint, Done]
    assert not any(isinstance(e, Step) for e in events)
    for name, value in direct.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    done = events[-1]
    expected = -direct.log_prob(data.test).double().mean().item()
    assert math.isclose(done.test_nats, expected, rel_tol=1e-6)
    pixelcnn = build_model("pixelcnn", load_dataset("digits-binary").spec, **SMALL)
    with pytest.raises(ValueError, match="fit"):
        list(train(pixelcnn, load_dataset("digits-binary"), TrainConfig(device="cpu", closed_form=True)))


def test_sound_checkpoints_carry_their_sample_rate_and_label_names(tmp_path):
    run = run_training("linear-ar", "tones", tmp_path / "run", {"order": 4},
                       TrainConfig(device="cpu", closed_form=True, sample_every=0))
    meta = load_checkpoint(run.latest_checkpoint()).checkpoint_meta
    data = load_dataset("tones")
    assert meta["sample_rate"] == 8000 and meta["label_names"] == list(data.extras["label_names"])


def test_window_and_cli_name_runs_alike(tmp_path, monkeypatch):
    """One naming function for the window and ``arstudio train``: under $ARSTUDIO_RUNS,
    MODEL-DATA-TIME, a path in the data name reduced to its file name, never reused."""
    from arstudio.runs.worker import new_run_path, run_name

    monkeypatch.setenv("ARSTUDIO_RUNS", str(tmp_path / "runs"))
    first = new_run_path("made", "text:/some/where/notes.txt", when=0)
    assert first.parent == tmp_path / "runs" and first.name.startswith("made-text-notes.txt-19")
    assert not first.exists()
    first.mkdir(parents=True)
    assert new_run_path("made", "text:/some/where/notes.txt", when=0) == first.with_name(first.name + "+")
    assert run_name("pixelcnn", "digits", 0).startswith("pixelcnn-digits-19")
    r = subprocess.run([sys.executable, "-m", "arstudio", "train", "--model", "fvsbn",
                        "--data", "digits-binary", "--steps", "2", "--device", "cpu", "--quiet"],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "ARSTUDIO_RUNS": str(tmp_path / "cli")})
    assert r.returncode == 0, r.stderr
    (made,) = (tmp_path / "cli").iterdir()
    assert made.name.startswith("fvsbn-digits-binary-") and (made / "config.json").is_file()
    assert str(made) in r.stdout
