"""Run folders under faults: kill -9 during checkpoint writes, SIGTERM, a full disk, garbage
in every file a reader or the worker reads. Nothing is lost and nothing raises."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from arstudio.checkpoint import load_checkpoint
from arstudio.runs import RunFolder
from arstudio.runs.follow import RunFollower, summarize

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def worker(out: Path, *extra, channels=8, steps=100000):
    """``arstudio train`` as its own process: a tiny PixelCNN writing a checkpoint every step."""
    cmd = [sys.executable, "-m", "arstudio", "train", "--model", "pixelcnn", "--data", "digits-binary",
           "--set", f"channels={channels}", "--set", "layers=1", "--set", "head_channels=8", "--device", "cpu",
           "--steps", str(steps), "--train-set", "checkpoint_every=1", "--train-set", "log_every=1",
           "--train-set", "eval_every=100000", "--train-set", "sample_every=0", "--quiet", "--out", str(out), *extra]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(cond, timeout=240.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def events_whole(run: RunFolder) -> list[dict]:
    raw = run.events_path.read_bytes()
    assert raw == b"" or raw.endswith(b"\n"), "torn last event line"
    return [json.loads(line) for line in raw.splitlines()]


def test_kill_9_during_checkpoint_writes_loses_nothing(tmp_path):
    import random

    rng = random.Random(22)
    for i in range(2):
        out = tmp_path / f"run{i}"
        p = worker(out)
        assert wait_for(lambda: len(list((out / "checkpoints").glob("step_*.safetensors"))) >= 2), p.stderr
        time.sleep(rng.uniform(0.0, 0.6))  # somewhere inside the save loop
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        run = RunFolder(out)
        events_whole(run)
        for ckpt in run.checkpoints():
            load_checkpoint(ckpt)  # every one that has its name is complete
        RunFolder.open(out)  # the next open cleans what the dead writer left
        assert not [p for d in (out, out / "checkpoints") for p in d.glob(".*.tmp")]


def test_dead_writers_temp_files_are_cleaned_live_ones_kept(tmp_path):
    run = RunFolder.create(tmp_path / "r", {"model": "x"})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = run.checkpoints_dir / f".step_000001.safetensors.{pid}.abcdefgh.tmp"
    live = run.checkpoints_dir / f".step_000002.safetensors.{os.getpid()}.abcdefgh.tmp"
    stale.write_bytes(b"x" * 1000)
    live.write_bytes(b"y")
    RunFolder.open(run.path)
    assert not stale.exists() and live.exists()


def test_sigterm_records_failed_with_the_reason(tmp_path):
    out = tmp_path / "run"
    p = worker(out)
    assert wait_for(lambda: (out / "checkpoints").is_dir() and len(list((out / "checkpoints").glob("*.safetensors"))) >= 1)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode != 0
    assert "Traceback" not in err and "SIGTERM" in err
    run = RunFolder.open(out)
    assert run.status()["state"] == "failed" and "SIGTERM" in run.status()["message"]
    assert "SIGTERM" in (out / "error.log").read_text()
    assert events_whole(run)[-1]["event"] == "error"
    load_checkpoint(run.latest_checkpoint())


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({(r.stderr or r.stdout).strip()[:200]}); "
                    "the full-disk test needs root or CAP_SYS_ADMIN")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_fails_cleanly(small_disk):
    out = small_disk / "run"
    p = worker(out, channels=32)  # ~60 KB per checkpoint: 1 MB fills after a dozen steps
    _, err = p.communicate(timeout=180)
    assert p.returncode != 0
    assert "Traceback" not in err and "disk is full" in err, err
    run = RunFolder.open(out)
    status = run.status()
    assert status["state"] == "failed" and "disk is full" in status["message"]
    assert "disk is full" in (out / "error.log").read_text()
    events = events_whole(run)  # no torn line
    assert events[-1]["event"] == "error" and "disk is full" in events[-1]["message"]
    assert len(run.checkpoints()) >= 2
    for ckpt in run.checkpoints():
        load_checkpoint(ckpt)


def test_garbage_in_control_json_never_kills_or_resumes(tmp_path):
    run = RunFolder.create(tmp_path / "r", {"model": "x"})
    control = run.path / "control.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for garbage in (b"[1, 2]", b'"pause"', b"{\"action\": 5}", b"not json", b"\xff\xfe", b"[" * 100000):
            control.write_bytes(garbage)
            assert run.pending_action() is None  # nothing valid yet: keep going
        run.request("pause")
        assert run.pending_action() == "pause"
        for garbage in (b"[1, 2]", b"{\"action\": \"jump\"}", b"{}", b"\0" * 10, b" " * (50 << 20)):
            time.sleep(0.01)
            control.write_bytes(garbage)
            assert run.pending_action() == "pause"  # stays paused until an explicit resume
        t0 = time.perf_counter()
        for _ in range(1000):  # unchanged (and 50 MB): never read again
            run.pending_action()
        assert time.perf_counter() - t0 < 0.5
        control.unlink()
        assert run.pending_action() == "pause"
        run.request("resume")
        assert run.pending_action() == "resume"


def test_a_worker_survives_garbage_and_stays_paused(tmp_path):
    from arstudio.runs import run_training
    from arstudio.training import TrainConfig

    out = tmp_path / "run"
    cfg = TrainConfig(steps=400, device="cpu", log_every=1, eval_every=1000, sample_every=0,
                      checkpoint_every=1000)
    errors = []

    def go():
        try:
            run_training("fvsbn", "digits-binary", out, {}, cfg)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = threading.Thread(target=go)
        t.start()
        assert wait_for(lambda: (out / "events.jsonl").exists())
        run = RunFolder(out)
        (out / "control.json").write_text("[1, 2, 3]")  # a list once killed the worker
        time.sleep(0.3)
        run.request("pause")
        assert wait_for(lambda: run.status()["state"] == "paused", 30)
        (out / "control.json").write_text("{garbage")
        time.sleep(0.5)
        steps = [e["step"] for e in run.events()[0] if e["event"] == "step"]
        time.sleep(0.5)
        assert run.status()["state"] == "paused"
        assert [e["step"] for e in run.events()[0] if e["event"] == "step"] == steps  # no step taken
        run.request("resume")
        t.join(timeout=120)
    assert not errors and RunFolder.open(out).status()["state"] == "done"


def test_readers_ignore_wrong_typed_json(tmp_path):
    run = RunFolder.create(tmp_path / "r", {"model": "pixelcnn", "dataset": "digits", "train": [1, 2],
                                           "parameters": "many"})
    lines = ['[1, 2]', '5', '"step"', '{"event": "step", "step": "x", "bpd": [1]}',
             '{"event": "eval", "split": "val", "step": {}, "bpd": 1}', '{"event": "done", "elapsed": "long"}',
             '{"event": "step", "step": 3, "bpd": 1.5, "examples_per_s": 10, "elapsed": 1}']
    run.events_path.write_text("\n".join(lines) + "\n")
    status = run.path / "status.json"
    with pytest.warns(RuntimeWarning):
        f = RunFollower(run.path)
        f.poll()
    assert f.step == 3 and f.curves.train_bpd == [1.5]
    for bad in ('[1, 2]', '"running"', '{"state": 5}', '{"state": "running", "pid": [1]}',
                '{"state": "running", "pid": "abc"}', '{"state": "running", "pid": 1e300}', '\xff'):
        status.write_text(bad, errors="surrogateescape") if bad != '\xff' else status.write_bytes(b"\xff\xfe")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert isinstance(run.status(), dict)
            assert f.worker_alive() in (None, False, True)
            row = summarize(run.path)
            assert isinstance(row["state"], str) and row["parameters"] is None
            f.device()
    run.config_path.write_text("[1, 2]")
    from arstudio.runs import RunError

    with pytest.raises(RunError):
        RunFolder.open(run.path)


def test_a_sigterm_while_a_failure_is_written_does_not_cut_it_short(tmp_path):
    """A distributed run's survivor: its collective failed (a peer died) and torchrun's SIGTERM
    arrives while the failure is being recorded. The record is finished, status says failed."""
    from arstudio.runs import launch

    run = RunFolder.create(tmp_path / "r", {"model": "x"})
    real_set_status = run.set_status

    def set_status_and_get_terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # delivered here, in the main thread, at once
        real_set_status(*args, **kwargs)

    run.set_status = set_status_and_get_terminated
    previous = signal.signal(signal.SIGTERM, launch._on_sigterm)  # as _record installs it
    try:
        launch._fail(run, "another process of this distributed run stopped", "details")
        assert signal.getsignal(signal.SIGTERM) is launch._on_sigterm  # given back afterwards
    finally:
        signal.signal(signal.SIGTERM, previous)
    status = RunFolder(run.path).status()
    assert status["state"] == "failed" and "another process" in status["message"]
    assert (run.path / "error.log").read_text().startswith("another process")
    assert [json.loads(line) for line in (run.path / "events.jsonl").read_text().splitlines()][-1]["event"] == "error"
