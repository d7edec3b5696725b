"""Distributed training on PyTorch's own engine (torchrun + DDP, Gloo on the CPU):
two processes train exactly what one process trains with the same global batch and
seed, rank 0 alone writes the run, it resumes in one process, its checkpoint opens in
the window, the Train tab starts and follows a two-process run, and a rank that dies
fails the run with a clear status and a loadable last checkpoint.

Tolerances (README, "Training on a cluster"): training losses within 1e-5 relative over
20 steps, validation / test NLL within 1e-6, weights within 1e-5 (measured: 2e-7, 1e-9
and 1e-8; the sums over two shards round differently from one sum over the batch)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arstudio.checkpoint import load_checkpoint
from arstudio.runs import RunFolder, run_training
from arstudio.runs.launch import resume_training
from arstudio.training import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"channels": 8, "blocks": 1, "head_channels": 8}
DATA = "digits-binary"
TRAIN = {"log_every": 1, "eval_every": 10, "sample_every": 10, "checkpoint_every": 10, "num_samples": 2,
         "warmup": 5, "seed": 3}
LOSS_RTOL, EVAL_RTOL, WEIGHT_ATOL = 1e-5, 1e-6, 1e-5


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "ARSTUDIO_DIST_TIMEOUT": "60"}


def _cli(out: Path, steps=20, batch=16, extra=()) -> list[str]:
    cmd = ["--model", "pixelcnn", "--data", DATA, "--steps", str(steps), "--batch-size", str(batch),
           "--device", "cpu", "--out", str(out), "--quiet"]
    cmd += [a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]
    cmd += [a for k, v in TRAIN.items() for a in ("--train-set", f"{k}={v}")]
    return cmd + list(extra)


@pytest.fixture(scope="module")
def two_proc_run(tmp_path_factory):
    """`arstudio train ... --nproc-per-node 2`: two Gloo processes on this CPU."""
    root = tmp_path_factory.mktemp("ddp")
    out = root / "runs" / "two"
    cmd = [sys.executable, "-m", "arstudio", "train", *_cli(out), "--nproc-per-node", "2"]
    r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, cwd=root, env=_env())
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def one_proc_run(tmp_path_factory, two_proc_run):
    """The same settings in one process (in this one), read from the 2-process run's config."""
    cfg = RunFolder(two_proc_run).config()
    return run_training("pixelcnn", DATA, tmp_path_factory.mktemp("one") / "one", cfg["model_config"],
                        TrainConfig(**cfg["train"])).path


def _events(path):
    return RunFolder(path).events()[0]


def _losses(path):
    return {e["step"]: e["loss"] for e in _events(path) if e["event"] == "step"}


def _evals(path):
    return [(e["step"], e["split"], e["nats"]) for e in _events(path) if e["event"] == "eval"]


def _close_weights(a: Path, b: Path):
    ma, mb = load_checkpoint(a), load_checkpoint(b)
    sa, sb = ma.state_dict(), mb.state_dict()
    assert sa.keys() == sb.keys()
    return max((sa[k].float() - sb[k].float()).abs().max().item() for k in sa)


def test_two_gloo_processes_match_one_process_over_20_steps(two_proc_run, one_proc_run):
    two, one = _losses(two_proc_run), _losses(one_proc_run)
    assert sorted(two) == sorted(one) == list(range(1, 21))
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=LOSS_RTOL), step
    e2, e1 = _evals(two_proc_run), _evals(one_proc_run)
    assert [e[:2] for e in e2] == [e[:2] for e in e1] == [(10, "val"), (20, "val"), (20, "test")]
    for a, b in zip(e2, e1):
        assert a[2] == pytest.approx(b[2], rel=EVAL_RTOL)
    assert len({round(v, 4) for v in one.values()}) > 5  # it learned: the losses move
    for name in ("step_000010", "final"):
        ckpt = f"checkpoints/{name}.safetensors"
        assert _close_weights(two_proc_run / ckpt, one_proc_run / ckpt) < WEIGHT_ATOL


def test_rank_zero_alone_writes_one_run_folder(two_proc_run):
    runs = two_proc_run.parent
    assert [p.name for p in runs.iterdir()] == ["two"]  # no second folder from rank 1
    cfg = RunFolder(two_proc_run).config()
    d = cfg["distributed"]
    assert (d["world_size"], d["backend"], d["global_batch"], d["per_rank_batch"]) == (2, "gloo", 16, 8)
    assert d["devices"] == ["cpu", "cpu"] and len(set(d["pids"])) == 2 and cfg["train"]["batch_size"] == 16
    status = RunFolder(two_proc_run).status()
    assert status["state"] == "done" and status["pid"] == d["pids"][0]  # written by rank 0
    kinds = [e["event"] for e in _events(two_proc_run)]
    assert kinds.count("started") == 1 and kinds.count("done") == 1 and kinds.count("samples") == 2
    assert [e["step"] for e in _events(two_proc_run) if e["event"] == "step"] == list(range(1, 21))
    assert "×2 (gloo)" in next(e for e in _events(two_proc_run) if e["event"] == "started")["device"]
    files = sorted(str(p.relative_to(two_proc_run)) for p in two_proc_run.rglob("*") if p.is_file())
    assert files == ["checkpoints/final.safetensors", "checkpoints/step_000010.safetensors",
                     "checkpoints/train_state.safetensors", "config.json", "events.jsonl",
                     "samples/step_000010.npy", "samples/step_000010.png", "samples/step_000020.npy",
                     "samples/step_000020.png", "status.json"]


def test_a_two_process_run_resumes_in_one_process(two_proc_run, one_proc_run, tmp_path):
    two, one = tmp_path / "two", tmp_path / "one"
    shutil.copytree(two_proc_run, two)
    shutil.copytree(one_proc_run, one)
    resume_training(two, steps=30)  # this process alone: world size 1
    resume_training(one, steps=30)
    cfg = RunFolder(two).config()
    assert "distributed" not in cfg and cfg["train"]["steps"] == 30
    continued = [e for e in _events(two) if e["event"] == "continued"]
    assert [(e["step"], e["world_size"]) for e in continued] == [(20, 1)]
    l2, l1 = _losses(two), _losses(one)
    assert [s for s in l2 if s > 20] == list(range(21, 31))
    for step in range(21, 31):
        assert l2[step] == pytest.approx(l1[step], rel=LOSS_RTOL), step
    assert RunFolder(two).status()["state"] == "done"
    assert _close_weights(two / "checkpoints/final.safetensors", one / "checkpoints/final.safetensors") < WEIGHT_ATOL


def test_the_two_process_checkpoint_loads_in_the_window(window, qtbot, two_proc_run):
    assert window.studio.open_run(two_proc_run)
    train = window.studio.train
    assert train.ended_state == "done" and not train.banner.isVisible()
    assert window.state.get("checkpoint") == two_proc_run / "checkpoints" / "final.safetensors"
    assert window.complete.path == two_proc_run / "checkpoints" / "final.safetensors"
    assert "pixelcnn" in window.complete.model_label.text()
    assert "×2 (gloo)" in train.view.figures["device"].text()


def test_train_tab_starts_two_processes_and_follows_them_to_the_end(window, qtbot):
    studio, train = window.studio, window.studio.train
    studio.picker.select("pixelcnn", DATA, SMALL)
    train.set_train_settings({"steps": 20, "batch_size": 16, "snapshot_every": 10, "device": "cpu",
                              "processes": 2})
    assert train.processes.value() == 2
    out = train.start_training()
    assert out is not None and train.process.args[train.process.args.index("--nproc-per-node") + 1] == "2"
    qtbot.waitUntil(lambda: train.ended_state is not None, timeout=240_000)
    assert train.ended_state == "done", train.banner.text()
    assert train.process.returncode == 0
    f = train.follower
    assert f.path == out and f.step == 20 and f.curves.train_steps[-1] == 20 and f.test_bpd is not None
    assert f.config["distributed"]["world_size"] == 2 and f.config["train"]["batch_size"] == 16
    assert len(train.view._grids) == 2
    ckpt = window.state.get("checkpoint")
    assert ckpt == out / "checkpoints" / "final.safetensors"
    assert load_checkpoint(ckpt).registry_name == "pixelcnn"
    assert train.start_button.isEnabled() and train.continue_button.isEnabled()


def test_a_rank_that_dies_fails_the_run_cleanly(tmp_path):
    """`torchrun -m arstudio train` as typed by hand; rank 1 is killed mid-run."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           "-m", "arstudio", "train", *_cli(out, steps=100_000, extra=("--train-set", "checkpoint_every=5"))]
    p = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    try:
        deadline = time.monotonic() + 180
        while not (out / "checkpoints" / "step_000005.safetensors").is_file():
            assert p.poll() is None and time.monotonic() < deadline, p.stdout.read() if p.poll() else "slow"
            time.sleep(0.2)
        pids = RunFolder(out).config()["distributed"]["pids"]
        os.kill(pids[1], signal.SIGKILL)
        t0 = time.monotonic()
        log = p.communicate(timeout=90)[0]
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode != 0 and took < 60, log  # no hang
    status = RunFolder(out).status()
    assert status["state"] == "failed" and "another process" in status["message"], status
    assert _events(out)[-1]["event"] == "error"
    ckpt = RunFolder(out).latest_checkpoint()
    assert ckpt is not None and load_checkpoint(ckpt).registry_name == "pixelcnn"


def test_launch_options_and_a_batch_that_does_not_split(tmp_path):
    from arstudio.cli import main
    from arstudio.runs.torchrun import torchrun_args

    argv = ["train", "--model", "m", "--nproc-per-node", "4", "--nnodes=2", "--rdzv-endpoint", "h:29400"]
    assert torchrun_args(argv, "OUT", "4", 2, None, "h:29400") == [
        "--nproc-per-node=4", "--nnodes=2", "--max-restarts=0", "--rdzv-backend=c10d", "--rdzv-endpoint=h:29400",
        "-m", "arstudio", "train", "--model", "m", "--out", "OUT"]
    assert torchrun_args(argv, None, "4", 2, 1, "h:29400")[3:6] == [
        "--node-rank=1", "--master-addr=h", "--master-port=29400"]
    assert "--standalone" in torchrun_args(["train"], None, "2")
    with pytest.raises(SystemExit, match="needs --rdzv-endpoint"):
        torchrun_args(["train"], None, "2", 2)
    with pytest.raises(SystemExit, match="batch size 15 does not split over 2 processes"):
        main(["train", *_cli(tmp_path / "x", batch=15), "--nproc-per-node", "2"])
    assert not (tmp_path / "x").exists()


def test_a_run_growing_on_another_host_is_followed_live(window, qtbot, two_proc_run, tmp_path):
    """A folder synced from a cluster (rsync, sshfs, NFS): its pid means nothing here, so the
    window neither calls it crashed nor stops reading; it follows the new lines to the end."""
    out = tmp_path / "synced"
    shutil.copytree(two_proc_run, out)
    lines = (two_proc_run / "events.jsonl").read_bytes().splitlines(keepends=True)
    half = next(i for i, ln in enumerate(lines) if b'"step": 10,' in ln and b'"event": "step"' in ln) + 1
    (out / "events.jsonl").write_bytes(b"".join(lines[:half]))
    status = json.loads((two_proc_run / "status.json").read_text())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True,
                          text=True).stdout.strip()  # a pid that no longer runs here
    (out / "status.json").write_text(json.dumps({**status, "state": "running", "message": "",
                                                 "pid": int(dead), "host": "cluster-node-7"}))
    assert window.studio.open_run(out)
    train = window.studio.train
    assert train.follower.step == 10 and train.ended_state is None and train.timer.isActive()
    qtbot.wait(1200)  # several status checks: still followed, not "crashed"
    assert train.ended_state is None and not train.banner.isVisible()
    with open(out / "events.jsonl", "ab") as f:  # the next rsync brings the rest
        f.write(b"".join(lines[half:]))
    (out / "status.json").write_text(json.dumps({**status, "host": "cluster-node-7"}))
    qtbot.waitUntil(lambda: train.ended_state == "done", timeout=10_000)
    assert train.follower.step == 20 and train.follower.test_bpd is not None
    assert window.state.get("checkpoint") == out / "checkpoints" / "final.safetensors"
