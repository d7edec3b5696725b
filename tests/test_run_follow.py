"""The run follower reads only what was appended, whole lines only (no Qt)."""
import json

from arstudio.runs import RunFolder
from arstudio.runs.follow import RunFollower, format_seconds, summarize


def test_follower_reads_new_whole_lines_incrementally(tmp_path):
    run = RunFolder.create(tmp_path / "r", {"model": "pixelcnn", "dataset": "digits", "parameters": 1234,
                                             "train": {"steps": 100, "device": "cpu"}})
    f = RunFollower(run.path)
    assert f.poll() == [] and f.version == 0
    run.append_event({"event": "started", "model": "pixelcnn", "dataset": "digits", "parameters": 1234,
                      "device": "cpu", "num_dims": 64, "total_steps": 100})
    run.append_event({"event": "step", "step": 10, "loss": 50.0, "bpd": 1.5, "lr": 1e-3,
                      "examples_per_s": 640.0, "elapsed": 2.0})
    with open(run.events_path, "a") as fh:  # a line the worker is still writing
        fh.write('{"event": "step", "step": 20, "loss": 40.0, "bp')
    new = f.poll()
    assert [e["event"] for e in new] == ["started", "step"] and f.version == 1
    assert f.curves.train_steps == [10] and f.eta() == 2.0 / 10 * 90
    assert f.poll() == [] and f.version == 1  # nothing whole arrived: nothing redrawn
    with open(run.events_path, "a") as fh:
        fh.write('d": 1.2, "lr": 0.001, "examples_per_s": 700.0, "elapsed": 4.0}\n')
        fh.write(json.dumps({"event": "eval", "step": 20, "split": "val", "nats": 45.0, "bpd": 1.3}) + "\n")
    assert [e["event"] for e in f.poll()] == ["step", "eval"]
    assert f.curves.train_bpd == [1.5, 1.2] and f.curves.val_steps == [20] and f.step == 20
    run.append_event({"event": "error", "message": "the loss became nan at step 21"})
    f.poll()
    assert f.finished and f.error.startswith("the loss became nan") and f.eta() is None
    row = summarize(run.path)
    assert (row["model"], row["parameters"], row["val_bpd"], row["time_s"]) == ("pixelcnn", 1234, 1.3, 4.0)
    assert format_seconds(3725) == "1:02:05" and format_seconds(None) == "–"
