"""Resume: a stopped, finished, failed or killed run goes on in its own folder with the
same result as a run that never stopped."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from arstudio import build_model, load_dataset
from arstudio.runs import RunFolder, run_training
from arstudio.runs.follow import RunFollower
from arstudio.runs.launch import STATE_FILE, resume_training
from arstudio.training import Checkpoint, TrainConfig, train
from arstudio.training.state import load_state, save_state

SMALL = {"channels": 8, "layers": 1, "head_channels": 8}
# dropout-free but with every source of state: Adam moments, cosine schedule, warm-up,
# shuffling across passes (1000 images / 32 per step), best-weights tracking
CFG = dict(steps=200, batch_size=32, log_every=10, eval_every=50, sample_every=100, checkpoint_every=50,
           num_samples=2, warmup=20, device="cpu")


def _stop_after(n):
    calls = {"n": 0}

    def control():
        calls["n"] += 1
        return "stop" if calls["n"] > n else None

    return control


def test_200_straight_equals_100_plus_resumed_100(tmp_path):
    data = load_dataset("digits-binary")
    torch.manual_seed(0)
    straight = build_model("pixelcnn", data.spec, **SMALL)
    list(train(straight, data, TrainConfig(**CFG)))

    torch.manual_seed(0)
    first = build_model("pixelcnn", data.spec, **SMALL)
    events = list(train(first, data, TrainConfig(**CFG), control=_stop_after(100)))
    state = [e.state for e in events if isinstance(e, Checkpoint)][-1]
    assert state.step == 100 and events[-1].stopped_early
    save_state(state, tmp_path / "state.safetensors")  # through the file, as a resume reads it
    state = load_state(tmp_path / "state.safetensors")
    second = build_model("pixelcnn", data.spec, **SMALL)  # fresh init: the state brings the weights
    events = list(train(second, data, TrainConfig(**CFG), resume=state))
    assert events[0].start_step == 100 and events[-1].step == 200
    a, b = straight.state_dict(), second.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_state_file_is_not_a_pickle(tmp_path):
    data = load_dataset("digits-binary")
    model = build_model("pixelcnn", data.spec, **SMALL)
    events = list(train(model, data, TrainConfig(**{**CFG, "steps": 20, "checkpoint_every": 10})))
    path = save_state([e.state for e in events if isinstance(e, Checkpoint)][0], tmp_path / "s.safetensors")
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    meta = json.loads(header["__metadata__"]["arstudio-train-state"])
    assert meta["step"] == 10 and meta["param_groups"][0]["lr"] > 0
    assert {"rng/torch", "rng/shuffle", "data/perm"} <= set(header)
    assert any(k.startswith("optim/") and k.endswith("/exp_avg") for k in header)
    assert b"\x80\x04" not in raw[:16] and b"pickle" not in raw


def test_resume_a_finished_run_with_more_steps(tmp_path):
    cfg = TrainConfig(**{**CFG, "steps": 40, "eval_every": 20, "checkpoint_every": 20})
    run = run_training("pixelcnn", "digits-binary", tmp_path / "run", SMALL, cfg)
    assert run.status()["state"] == "done"
    with pytest.raises(Exception, match="already at step 40"):
        resume_training(run.path)
    resume_training(run.path, steps=60)
    assert run.status()["state"] == "done" and run.config()["train"]["steps"] == 60
    events, _ = run.events()
    kinds = [e["event"] for e in events]
    assert kinds.count("started") == 2 and kinds.count("done") == 2 and "continued" in kinds
    assert [e["step"] for e in events if e["event"] == "step"][-1] == 60
    f = RunFollower(run.path)
    f.poll()
    assert f.curves.train_steps == sorted(set(f.curves.train_steps)) and f.curves.train_steps[-1] == 60
    assert f.done is not None and f.step == 60 and load_state(run.checkpoints_dir / STATE_FILE).step == 60


def test_resume_continues_a_run_killed_with_sigkill(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    train_set = ["--train-set", "log_every=5", "--train-set", "checkpoint_every=20",
                 "--train-set", "eval_every=20", "--train-set", "sample_every=40"]
    cmd = [sys.executable, "-m", "arstudio", "train", "--model", "pixelcnn", "--data", "digits-binary",
           "--steps", "400", "--batch-size", "32", "--device", "cpu", "--out", str(out), "--quiet",
           "--set", "channels=8", "--set", "layers=1", "--set", "head_channels=8", *train_set]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state_path = out / "checkpoints" / STATE_FILE
    deadline = time.time() + 120
    while time.time() < deadline and not (state_path.exists() and load_state(state_path).step >= 40):
        time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = RunFolder.open(out)
    assert run.status()["state"] == "running"  # the killed worker never said goodbye
    killed_at = load_state(state_path).step
    r = subprocess.run([sys.executable, "-m", "arstudio", "train", "--resume", str(out), "--steps", "100",
                        "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert run.status()["state"] == "done"
    events, _ = run.events()
    cont = [e for e in events if e["event"] == "continued"]
    assert len(cont) == 1 and cont[0]["step"] == killed_at >= 40
    after = events[events.index(cont[0]):]
    assert [e["step"] for e in after if e["event"] == "step"][0] == killed_at + 5
    assert after[-1]["event"] == "done" and after[-1]["step"] == 100
    assert (out / "checkpoints" / "final.safetensors").is_file()
    assert any(p.name == "step_000080.png" for p in (out / "samples").iterdir())


def test_ema_is_evaluated_saved_and_resumed(tmp_path):
    from arstudio import load_checkpoint
    from arstudio.training import Eval, evaluate

    cfg = TrainConfig(**{**CFG, "steps": 40, "eval_every": 20, "checkpoint_every": 20, "ema": 0.9})
    run = run_training("pixelcnn", "digits-binary", tmp_path / "run", SMALL, cfg)
    events, _ = run.events()
    splits = [(e["step"], e["split"]) for e in events if e["event"] == "eval"]
    assert (20, "val_ema") in splits and (40, "val_ema") in splits and (40, "test_ema") in splits
    ema = load_checkpoint(run.checkpoints_dir / "ema.safetensors")
    raw = load_checkpoint(run.checkpoints_dir / "final.safetensors")
    assert any(not torch.equal(a, b) for a, b in zip(ema.state_dict().values(), raw.state_dict().values()))
    data = load_dataset("digits-binary")
    recorded = ema.checkpoint_meta["metrics"]["test_bpd"]
    assert evaluate(ema, data.test)[1] == pytest.approx(recorded, abs=1e-6)
    test_ema = [e for e in events if e["event"] == "eval" and e["split"] == "test_ema"][0]
    assert test_ema["bpd"] == pytest.approx(recorded, abs=1e-6)
    assert raw.checkpoint_meta["metrics"]["ema_test_bpd"] == pytest.approx(recorded, abs=1e-6)

    # the average is part of the resumable state: 40 straight == 20 + resumed 20, average included
    torch.manual_seed(0)
    straight = build_model("pixelcnn", data.spec, **SMALL)
    ev = list(train(straight, data, cfg))
    ema_straight = [e for e in ev if isinstance(e, Checkpoint)][-1].ema
    torch.manual_seed(0)
    first = build_model("pixelcnn", data.spec, **SMALL)
    ev = list(train(first, data, cfg, control=_stop_after(20)))
    save_state([e.state for e in ev if isinstance(e, Checkpoint)][-1], tmp_path / "s.safetensors")
    second = build_model("pixelcnn", data.spec, **SMALL)
    ev = list(train(second, data, cfg, resume=load_state(tmp_path / "s.safetensors")))
    ema_resumed = [e for e in ev if isinstance(e, Checkpoint)][-1].ema
    a, b = ema_straight.state_dict(), ema_resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [e for e in ev if isinstance(e, Eval)][-1].split == "test_ema"


def test_a_resumed_run_gets_its_time_budget_afresh(tmp_path):
    """A run that spent its max_minutes and is resumed trains on (the budget is per call),
    and the resume can replace the budget."""
    import dataclasses

    data = load_dataset("digits-binary")
    cfg = {**CFG, "steps": 20, "eval_every": 10, "checkpoint_every": 10, "sample_every": 0}
    model = build_model("pixelcnn", data.spec, **SMALL)
    events = list(train(model, data, TrainConfig(**cfg), control=_stop_after(10)))
    state = [e.state for e in events if isinstance(e, Checkpoint)][-1]
    spent = dataclasses.replace(state, elapsed=3600.0)  # an hour already spent, budget 1 minute
    events = list(train(build_model("pixelcnn", data.spec, **SMALL), data,
                        TrainConfig(**{**cfg, "max_minutes": 1.0}), resume=spent))
    assert events[0].start_step == 10 and events[-1].step == 20 and not events[-1].stopped_early
    assert events[-1].elapsed >= 3600.0  # the reported time still counts the first part

    run = run_training("pixelcnn", "digits-binary", tmp_path / "run", SMALL,
                       TrainConfig(**{**cfg, "max_minutes": 0.0}))  # its budget ends at once
    assert [e for e in run.events()[0] if e["event"] == "done"][-1]["step"] < 20
    resume_training(run.path)  # a fresh 0-minute budget: still stops at once
    assert [e for e in run.events()[0] if e["event"] == "done"][-1]["step"] < 20
    resume_training(run.path, settings={"max_minutes": None})  # the budget replaced: no limit
    assert run.config()["train"]["max_minutes"] is None
    assert [e for e in run.events()[0] if e["event"] == "done"][-1]["step"] == 20
    with pytest.raises(Exception, match="not batch_size"):
        resume_training(run.path, steps=30, settings={"batch_size": 8})
