"""Every bad command-line input: one line on stderr and a non-zero exit, never a traceback;
trainer settings refused before a run folder exists; untrusted files bounded."""
import gzip
import os
import struct
import subprocess
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from arstudio.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--model", "pixelcnn", "--set", "channels=8", "--set", "layers=1", "--set", "head_channels=8",
        "--device", "cpu", "--quiet"]


def run_cli(argv, capsys):
    """``main(argv)`` as the shell sees it: (exit code, stderr)."""
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as e:  # the interpreter prints a string code on stderr, exit 1
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            rc = 1
        else:
            rc = e.code or 0
    return rc, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _idx(path: Path, dims, payload: bytes | None = None, gz=False):
    head = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    body = head + (payload if payload is not None else bytes(int(np.prod(dims))))
    if gz:
        with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
            f.write(body)
    else:
        path.write_bytes(body)


def _idx_folder(folder: Path, n=20, gz=False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _idx(folder / "train-images-idx3-ubyte", (n, 8, 8), gz=gz)
    _idx(folder / "train-labels-idx1-ubyte", (n,), gz=gz)
    _idx(folder / "t10k-images-idx3-ubyte", (n, 8, 8), gz=gz)
    _idx(folder / "t10k-labels-idx1-ubyte", (n,), gz=gz)
    return folder


def bad_data(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (--data value, a word the message must hold)."""
    empty = tmp / "empty"
    empty.mkdir()
    magic = _idx_folder(tmp / "magic")
    (magic / "train-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    bomb = _idx_folder(tmp / "bomb")
    os.unlink(bomb / "train-images-idx3-ubyte")
    with gzip.open(bomb / "train-images-idx3-ubyte.gz", "wb") as f:  # ~100 KB on disk
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 60000, 28, 28))
        for _ in range(200):
            f.write(bytes(1 << 20))  # 200 MiB of zeros past what the header promises
    promise = _idx_folder(tmp / "promise")
    os.unlink(promise / "train-images-idx3-ubyte")
    with gzip.open(promise / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 2 ** 31, 2 ** 16, 2 ** 16))
    cifar = tmp / "cifar"
    cifar.mkdir()
    (cifar / "data_batch_1.bin").write_bytes(bytes(3073 * 2 + 17))
    (cifar / "test_batch.bin").write_bytes(bytes(3073))
    fifo = tmp / "fifo.txt"
    os.mkfifo(fifo)
    big = tmp / "big.txt"
    with open(big, "wb") as f:
        f.truncate(40 << 20)  # sparse: 40 MiB, over the text limit
    slow = tmp / "slow"
    slow.mkdir()
    with wave.open(str(slow / "one-hz.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(1)
        w.writeframes(bytes(2 * 10000))
    return {
        "missing folder": (f"idx:{tmp / 'nope'}", "not a folder"),
        "empty folder": (f"idx:{empty}", "missing"),
        "bad IDX magic": (f"idx:{magic}", "magic"),
        "gzip bomb": (f"idx:{bomb}", "more than"),
        "IDX header promise": (f"idx:{promise}", "limit"),
        "truncated CIFAR": (f"cifar10:{cifar}", "records"),
        "text:/dev/zero": ("text:/dev/zero", "not a regular file"),
        "text FIFO": (f"text:{fifo}", "not a regular file"),
        "text too big": (f"text:{big}", "limit"),
        "text missing": (f"text:{tmp / 'none.txt'}", "cannot read"),
        "WAV at 1 Hz": (f"audio:{slow}", "1 Hz"),
        "unknown dataset": ("no-such-data", "unknown dataset"),
    }


BAD_SETTINGS = {
    "--steps 0": (["--steps", "0"], "steps"),
    "--steps -5": (["--steps", "-5"], "steps"),
    "--batch-size 0": (["--batch-size", "0"], "batch_size"),
    "--batch-size -1": (["--batch-size", "-1"], "batch_size"),
    "log_every=0": (["--train-set", "log_every=0"], "log_every"),
    "eval_every=0": (["--train-set", "eval_every=0"], "eval_every"),
    "checkpoint_every=0": (["--train-set", "checkpoint_every=0"], "checkpoint_every"),
    "--lr nan": (["--lr", "nan"], "lr"),
    "--lr inf": (["--lr", "inf"], "lr"),
    "--lr -1": (["--lr", "-1"], "lr"),
    "--lr 0": (["--lr", "0"], "lr"),
    "schedule=linear": (["--train-set", "schedule=linear"], "schedule"),
    "optimizer=sgd": (["--train-set", "optimizer=sgd"], "optimizer"),
    "unknown --train-set key": (["--train-set", "stepz=3"], "stepz"),
    "--train-set without =": (["--train-set", "steps"], "KEY=VALUE"),
    "label_dropout=2": (["--train-set", "label_dropout=2"], "label_dropout"),
    "crop on images": (["--train-set", "crop=4"], "crop"),
    "unknown --set key": (["--set", "chanels=3"], "chanels"),
    "--epochs -1": (["--epochs", "-1"], "epochs"),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_trainer_settings_are_one_line_and_make_no_run_folder(case, tmp_path, capsys):
    extra, word = BAD_SETTINGS[case]
    out = tmp_path / "run"
    rc, err = run_cli(["train", *TINY, "--data", "digits-binary", "--steps", "5", *extra, "--out", str(out)], capsys)
    line = one_line(err)
    assert rc != 0 and word in line, line
    assert not (out / "config.json").exists()


def test_bad_data_is_one_line_each(tmp_path, capsys):
    cases = bad_data(tmp_path)
    for name, (data, word) in cases.items():
        rc, err = run_cli(["train", *TINY, "--data", data, "--steps", "2", "--out", str(tmp_path / f"run-{len(name)}")], capsys)
        line = one_line(err)
        assert rc != 0 and word in line, (name, line)


def test_gzip_bomb_is_refused_without_unpacking_it(tmp_path):
    import resource

    from arstudio.data import DataError
    from arstudio.data.files import read_idx

    bad_data(tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError, match="more than"):
        read_idx(tmp_path / "bomb" / "train-images-idx3-ubyte.gz")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 150 * 1024  # KiB
    ok = _idx_folder(tmp_path / "ok", gz=True)
    assert read_idx(ok / "train-images-idx3-ubyte.gz").shape == (20, 8, 8)


def test_divergence_with_clipping_off_fails(tmp_path, capsys):
    out = tmp_path / "run"
    rc, err = run_cli(["train", *TINY, "--data", "digits-binary", "--steps", "60", "--lr", "1e6",
                       "--train-set", "grad_clip=0", "--train-set", "warmup=0", "--train-set", "schedule=constant",
                       "--out", str(out)], capsys)
    assert rc != 0 and "diverged" in err, err
    from arstudio.runs import RunFolder

    assert RunFolder.open(out).status()["state"] == "failed"


def test_the_trainer_refuses_an_exploding_loss_without_clipping():
    """A loss that grows to 1e28 stays finite: it must still end the run."""
    import torch

    from arstudio.data import load_dataset
    from arstudio.models.registry import build_model
    from arstudio.training import TrainConfig, TrainingError, train

    data = load_dataset("digits-binary")
    model = build_model("pixelcnn", data.spec, channels=8, layers=1, head_channels=8)
    real_loss = model.loss
    model.loss = lambda x, **kw: real_loss(x, **kw) * 1e28  # finite, absurd
    with pytest.raises(TrainingError, match="diverged"):
        for _ in train(model, data, TrainConfig(steps=3, grad_clip=0, device="cpu", sample_every=0)):
            pass
    del torch


def test_a_second_worker_on_the_same_out_is_refused(tmp_path, capsys):
    from arstudio.runs import RunError, RunFolder

    RunFolder.create(tmp_path / "a", {"model": "x"})
    rc, err = run_cli(["train", *TINY, "--data", "digits-binary", "--steps", "2", "--out", str(tmp_path / "a")], capsys)
    assert rc != 0 and "already holds a run" in one_line(err)
    wins, errors = [], []
    barrier = threading.Barrier(8)

    def start(i):
        barrier.wait()
        try:
            RunFolder.create(tmp_path / "b", {"worker": i})
            wins.append(i)
        except RunError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=start, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(errors) == 7
    assert RunFolder.open(tmp_path / "b").config() == {"worker": wins[0]}
    assert not list((tmp_path / "b").glob(".config*"))  # no temp files left behind


def test_two_processes_at_the_same_instant(tmp_path):
    """Four processes, every one imported and waiting, let go at once (one line on their
    stdin): exactly one creates the run folder, the others are refused."""
    code = ("import sys; from arstudio.runs import RunFolder, RunError\n"
            "print('ready', flush=True)\n"
            "sys.stdin.readline()\n"
            "try:\n RunFolder.create(sys.argv[1], {'pid': 1}); print('won')\n"
            "except RunError: print('refused')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "r")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    try:
        assert [p.stdout.readline().strip() for p in procs] == ["ready"] * 4  # all four have imported
        for p in procs:  # four writes in a row: microseconds apart
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert outs == ["refused", "refused", "refused", "won"]


def test_a_real_process_prints_one_line_and_verbose_adds_the_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "arstudio", "train", *TINY, "--data", "text:/dev/zero", "--out", str(tmp_path / "r")]
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode != 0 and "not a regular file" in one_line(p.stderr)
    p = subprocess.run(args + ["-v"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode != 0 and "Traceback" in p.stderr and "not a regular file" in p.stderr.splitlines()[-1]


def test_other_commands_fail_in_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"nonsense")
    for argv, word in ((["sample", str(junk)], "not an ARStudio checkpoint"),
                       (["eval", str(junk)], "not an ARStudio checkpoint"),
                       (["sample", str(tmp_path / "nothing")], "not a run folder"),
                       (["eval", "pixelcnn-digits", "--data", "text:/dev/zero", "--device", "cpu"], "not a regular file")):
        rc, err = run_cli(argv, capsys)
        assert rc != 0 and word in one_line(err), (argv, err)


def test_a_warning_is_one_line_after_a_command_that_worked(tmp_path, capsys):
    from arstudio.runs import RunFolder

    run = RunFolder.create(tmp_path / "run", {"model": "fvsbn"})
    run.append_event({"event": "step", "step": 1, "loss": 1.0})
    with open(run.events_path, "a") as f:
        f.write("not json\n")
    assert main(["export-curves", str(run.path), "--out", str(tmp_path / "c.csv")]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("arstudio: warning")]
    assert err == [f"arstudio: warning: {run.events_path}: 1 line(s) that are not events skipped"], err


def test_commands_leave_the_docs_corpus_as_it_was():
    """The docs corpus reads the docstrings of standard modules, `warnings` among them: a command
    that patched warnings.showwarning changed the corpus, and `arstudio eval docnade-docs` gave
    9.36 bits/dim against its recorded 7.89."""
    import hashlib

    from arstudio.data.documents import stdlib_sources

    def digest():
        return hashlib.sha256("\0".join(stdlib_sources()).encode()).hexdigest()

    before = digest()
    assert main(["datasets"]) == 0
    assert digest() == before


def _fixtures(tmp: Path) -> dict[str, Path]:
    """Hostile files for the commands' own readers: a FIFO, an image whose header declares
    10**10 pixels, a non-UTF-8 file, a deeply nested TOML, an .arz file with a lying header."""
    import zlib

    from PIL import Image

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    f = {"fifo": tmp / "fifo.png", "bomb": tmp / "bomb.png", "d8": tmp / "d8.png", "ones": tmp / "ones.png",
         "latin": tmp / "latin.txt", "deep": tmp / "deep.toml", "folder": tmp / "folder"}
    os.mkfifo(f["fifo"])
    f["bomb"].write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
                          + chunk(b"IDAT", zlib.compress(bytes(100))) + chunk(b"IEND", b""))
    Image.fromarray((np.arange(64).reshape(8, 8) % 2 * 255).astype(np.uint8)).save(f["d8"])
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(f["ones"])
    f["latin"].write_bytes(bytes(range(128, 256)) * 4)
    f["deep"].write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    (f["folder"] / "x.png").mkdir(parents=True)
    return f


def hostile_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (argv, a word its one line must hold). Most are refused before any model loads."""
    f = _fixtures(tmp)
    o = tmp / "out"
    P = "pixelcnn-digits"
    png = str(o / "s.png")
    comp = ["complete", P, "--device", "cpu", "--image", str(f["d8"]), "--unknown", str(f["ones"]), "--out", png]
    return {
        "unknown command": (["frobnicate"], "invalid choice"),
        "--steps abc": (["train", "--steps", "abc"], "invalid int"),
        "missing target": (["sample"], "required"),
        "sample --n 0": (["sample", P, "--n", "0", "--out", png], "--n must be"),
        "sample --n -1": (["sample", P, "--n", "-1", "--out", png], "--n must be"),
        "sample --n 10**9": (["sample", P, "--n", str(10 ** 9), "--out", png], "--n must be"),
        "sample --temperature 0": (["sample", P, "--temperature", "0"], "temperature must be"),
        "sample --temperature -1": (["sample", P, "--temperature", "-1"], "temperature must be"),
        "sample --temperature nan": (["sample", P, "--temperature", "nan"], "temperature must be"),
        "sample --temperature inf": (["sample", P, "--temperature", "inf"], "temperature must be"),
        "sample --seed -1": (["sample", P, "--seed", "-1"], "seed must be"),
        "sample --seed 2**70": (["sample", P, "--seed", str(2 ** 70)], "seed must be"),
        "sample --seconds 0": (["sample", "wavenet-tones", "--seconds", "0", "--out", str(o / "t.wav")], "--seconds"),
        "sample --seconds -1": (["sample", "wavenet-tones", "--seconds", "-1", "--out", str(o / "t.wav")], "--seconds"),
        "sample --seconds nan": (["sample", "wavenet-tones", "--seconds", "nan", "--out", str(o / "t.wav")], "--seconds"),
        "sample --seconds 1e9": (["sample", "wavenet-tones", "--seconds", "1e9", "--out", str(o / "t.wav")], "--seconds"),
        "sample --out x.jpg2": (["sample", P, "--out", str(o / "s.jpg2")], ".png"),
        "sample --out a folder": (["sample", P, "--device", "cpu", "--n", "1", "--out", str(f["folder"] / "x.png")],
                                  "is a folder"),
        "sample --label, no labels": (["sample", P, "--device", "cpu", "--label", "3", "--out", png], "takes no label"),
        "sample --notes, no score": (["sample", P, "--device", "cpu", "--notes", "C4", "--out", png], "--notes"),
        "sample label out of range": (["sample", "gated-pixelcnn-cond-digits", "--device", "cpu", "--label", "99",
                                       "--out", png], "unknown label"),
        "score of 10**6 s": (["sample", "wavenet-melodies-8k", "--device", "cpu", "--notes", "C4:1e9",
                              "--out", str(o / "m.wav")], "over 600 s"),
        "score beats nan": (["sample", "wavenet-melodies-8k", "--device", "cpu", "--notes", "C4:nan",
                             "--out", str(o / "m.wav")], "BEATS is a number"),
        "--where a FIFO": (["sample", "gated-pixelcnn-where-digits", "--device", "cpu", "--where", str(f["fifo"]),
                            "--n", "1", "--out", png], "not a regular file"),
        "--where a pixel bomb": (["sample", "gated-pixelcnn-where-digits", "--device", "cpu", "--where",
                                  str(f["bomb"]), "--n", "1", "--out", png], "pixels"),
        "complete --n 0": ([*comp, "--n", "0"], "--n must be"),
        "complete --scale 0": ([*comp, "--scale", "0"], "--scale must be"),
        "complete --scale 10**5": ([*comp, "--scale", "100000"], "--scale must be"),
        "complete --fps 0": ([*comp, "--fps", "0", "--animation", str(o / "a.gif")], "--fps must be"),
        "complete --fps nan": ([*comp, "--fps", "nan", "--animation", str(o / "a.gif")], "--fps must be"),
        "complete --animation x.bmp": ([*comp, "--animation", str(o / "a.bmp")], ".gif or .png"),
        "complete --candidates 0": ([*comp, "--method", "resample", "--candidates", "0"], "--candidates must be"),
        "complete --sweeps 0": ([*comp, "--method", "gibbs", "--sweeps", "0"], "--sweeps must be"),
        "complete --label, no labels": ([*comp, "--label", "3"], "takes no label"),
        "complete --image a FIFO": ([*comp[:5], str(f["fifo"]), *comp[6:]], "not a regular file"),
        "complete --image /dev/zero": ([*comp[:5], "/dev/zero", *comp[6:]], "not a regular file"),
        "complete --image a pixel bomb": ([*comp[:5], str(f["bomb"]), *comp[6:]], "pixels"),
        "complete --image a folder": ([*comp[:5], str(f["folder"]), *comp[6:]], "is a folder"),
        "compress --batch 0": (["compress", P, str(f["d8"]), "--out", str(o / "x.arz"), "--batch", "0"], "--batch must be"),
        "compress --n -1": (["compress", P, "--data", "digits", "--n", "-1", "--out", str(o / "x.arz")], "--n must be"),
        "compress a FIFO": (["compress", P, str(f["fifo"]), "--out", str(o / "x.arz")], "not a regular file"),
        "compress a pixel bomb": (["compress", P, str(f["bomb"]), "--out", str(o / "x.arz")], "pixels"),
        "compress non-UTF-8 text": (["compress", "rnn-arm-text", str(f["latin"]), "--out", str(o / "x.arz")],
                                    "no characters"),
        "decompress /dev/zero": (["decompress", "/dev/zero", "--out", str(o / "d")], "not a regular file"),
        "decompress a FIFO": (["decompress", str(f["fifo"]), "--out", str(o / "d")], "not a regular file"),
        "decompress a folder": (["decompress", str(f["folder"]), "--out", str(o / "d")], "is a folder"),
        "score --n 0": (["score", P, "--data", "digits", "--n", "0"], "--n must be"),
        "ood --n -1": (["ood", P, "--out", "noise", "--n", "-1"], "--n must be"),
        "ood --bg-steps 0": (["ood", P, "--out", "noise", "--bg-steps", "0"], "--bg-steps must be"),
        "ood background of other data": (["ood", P, "--out", "noise", "--n", "4", "--background",
                                          "made-digits-binary"], "the same data"),
        "ood real-valued model": (["ood", "rnade-moons", "--out", "noise", "--n", "4"], "discrete"),
        "--nproc-per-node 0": (["train", *TINY, "--data", "digits-binary", "--nproc-per-node", "0"], "--nproc-per-node"),
        "--nnodes 0": (["train", *TINY, "--data", "digits-binary", "--nproc-per-node", "2", "--nnodes", "0"], "--nnodes"),
        "--node-rank -1": (["train", *TINY, "--data", "digits-binary", "--nproc-per-node", "2", "--node-rank", "-1"],
                           "--node-rank"),
        "--set channels=-1": (["train", *TINY, "--data", "digits-binary", "--set", "channels=-1"], "at least 1"),
        "--set channels=abc": (["train", *TINY, "--data", "digits-binary", "--set", "channels=abc"], "integer"),
        "--set channels=2.5": (["train", *TINY, "--data", "digits-binary", "--set", "channels=2.5"], "integer"),
        "--config /dev/zero": (["train", "--config", "/dev/zero"], "not a regular file"),
        "--config a FIFO": (["train", "--config", str(f["fifo"])], "not a regular file"),
        "--config non-UTF-8": (["train", "--config", str(f["latin"])], "not UTF-8"),
        "--config nested 5000 deep": (["train", "--config", str(f["deep"])], "nested too deeply"),
        "--seed 2**70": (["train", *TINY, "--data", "digits-binary", "--seed", str(2 ** 70)], "seed must be"),
        "--lesson nested 5000 deep": (["--lesson", str(f["deep"])], "nested too deeply"),
        "--lesson /dev/zero": (["--lesson", "/dev/zero"], "no lesson"),
        "bench --bogus": (["bench", "compression", "--bogus"], "unrecognized"),
    }


def test_hostile_arguments_and_files_are_one_line_each(tmp_path, capsys):
    """Each bad value or file a command is given: one line on stderr and a non-zero exit;
    nothing is written (no run folder, no samples); nothing blocks on a FIFO or reads /dev/zero."""
    cases = hostile_cases(tmp_path)
    failures = []
    for name, (argv, word) in cases.items():
        rc, err = run_cli(argv, capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        if rc == 0 or len(lines) != 1 or word not in lines[0] or "Traceback" in err:
            failures.append((name, rc, lines[:4]))
    assert not failures, failures
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.png"))


def test_a_damaged_resumable_state_is_refused_in_one_line(tmp_path, capsys):
    """train_state.safetensors holds the weights and optimizer moments a resume goes on from:
    one flipped byte is refused by its content hash, and a config.json of the wrong shape is
    one line too (before this, both resumed or raised from deep inside)."""
    import json
    import shutil

    run = tmp_path / "run"
    assert run_cli(["train", *TINY, "--data", "digits-binary", "--steps", "2", "--out", str(run)], capsys)[0] == 0
    flipped, odd = tmp_path / "flipped", tmp_path / "odd"
    shutil.copytree(run, flipped)
    shutil.copytree(run, odd)
    state = flipped / "checkpoints" / "train_state.safetensors"
    raw = bytearray(state.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    state.write_bytes(bytes(raw))
    cfg = json.loads((odd / "config.json").read_text())
    (odd / "config.json").write_text(json.dumps({**cfg, "train": [1, 2]}))
    for folder, word in ((flipped, "content hash"), (odd, "'train' is list")):
        rc, err = run_cli(["train", "--resume", str(folder), "--steps", "4"], capsys)
        assert rc != 0 and word in one_line(err), err
    rc, err = run_cli(["train", "--resume", str(run), "--steps", "3", "--quiet"], capsys)
    assert rc == 0, err  # the intact one goes on
