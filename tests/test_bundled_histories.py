"""Bundled models ship their training history (models/KEY.history.json: curves and a few
sample grids by step), so the Compare tab overlays their curves and the Train tab's timeline
scrubs their samples with no training: the files are valid, small, written by the run that
trained the shipped weights, round-trip from a real run, and the real window draws them."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from arstudio.bundled import (
    HISTORY_MAX_BYTES,
    HISTORY_SNAPSHOTS,
    HISTORY_SUFFIX,
    list_bundled,
    read_history,
    write_history,
)
from arstudio.checkpoint import HASH_KEY
from arstudio.paths import BUNDLED_MODELS

BUNDLED = {b.key: b for b in list_bundled()}
SHIPPED = sorted(p.name[: -len(HISTORY_SUFFIX)] for p in BUNDLED_MODELS.glob(f"*{HISTORY_SUFFIX}"))


def test_shipped_histories_are_valid_small_and_match_their_models():
    assert SHIPPED, "no bundled model ships a history"
    total = 0
    for key in SHIPPED:
        assert key in BUNDLED, f"{key}{HISTORY_SUFFIX} belongs to no bundled model"
        b = BUNDLED[key]
        path = BUNDLED_MODELS / f"{key}{HISTORY_SUFFIX}"
        raw = json.loads(path.read_text())
        # written by the run whose final weights ship: their content hash, their test figure
        assert raw["weights"] == b.metadata[HASH_KEY], f"{key}: a history of other weights"
        assert raw["test_bpd"] == pytest.approx(b.metadata["metrics"]["test_bpd"], rel=1e-9), key
        assert raw["model"] == b.model and raw["dataset"] == b.dataset
        h = read_history(b)
        assert h is not None and len(h["train"]) >= 10 and len(h["val"]) >= 2, key
        assert path.stat().st_size < HISTORY_MAX_BYTES, key
        total += path.stat().st_size
        steps = [s for s, _ in h["train"]]
        assert steps == sorted(steps) and steps[0] > 0
        assert len(h["samples"]) == len(raw["samples"]), f"{key}: a snapshot did not decode"
        spec = b.metadata["spec"]
        for step, x in h["samples"]:  # grids of the model's own shape and levels, within the run
            assert list(x.shape[1:]) == spec["shape"] and 1 <= len(x) <= 16 and int(x.max()) < spec["levels"]
            assert 0 < step <= max(steps[-1], h["val"][-1][0]), key
        snap_steps = [s for s, _ in h["samples"]]
        assert snap_steps == sorted(set(snap_steps)), key
        assert len(h["samples"]) <= HISTORY_SNAPSHOTS, key
    # the retrained digits-binary vector models (and more) ship their samples at 4 steps or more
    scrubbable = [k for k in SHIPPED if len(read_history(BUNDLED[k])["samples"]) >= 4]
    assert len(scrubbable) >= 6, scrubbable
    assert total < 100_000  # all of them together: a few KB a model


def test_a_history_of_other_weights_is_no_history(tmp_path):
    import shutil

    from arstudio.bundled import BundledModel

    key = next(k for k in SHIPPED if read_history(BUNDLED[k])["samples"])
    b = BUNDLED[key]
    shutil.copy(BUNDLED_MODELS / f"{key}{HISTORY_SUFFIX}", tmp_path / f"{key}{HISTORY_SUFFIX}")
    here = BundledModel(key, tmp_path / f"{key}.safetensors", b.model, b.dataset, b.metadata)
    assert read_history(here) is not None
    other = BundledModel(key, here.path, b.model, b.dataset, {**b.metadata, HASH_KEY: "0" * 64})
    assert read_history(other) is None  # the same file beside other weights: not shown
    raw = json.loads((tmp_path / f"{key}{HISTORY_SUFFIX}").read_text())
    raw["samples"][0]["data"] = raw["samples"][0]["data"][:-8]  # truncated: not a grid
    (tmp_path / f"{key}{HISTORY_SUFFIX}").write_text(json.dumps(raw))
    assert read_history(here) is None


def test_write_history_round_trips_a_real_run(tmp_path):
    import numpy as np

    from arstudio.bundled import BundledModel
    from arstudio.checkpoint import read_metadata
    from arstudio.runs import run_training
    from arstudio.training import TrainConfig

    run = run_training("pixelcnn", "digits", tmp_path / "run", {"channels": 8, "blocks": 1, "head_channels": 8},
                       TrainConfig(steps=10, batch_size=16, eval_every=5, log_every=2, sample_every=2,
                                   num_samples=20, checkpoint_every=10, device="cpu"))
    path = write_history(run.path, "tiny", tmp_path, note="a test run")
    meta = read_metadata(run.checkpoints_dir / "final.safetensors")
    fake = BundledModel("tiny", tmp_path / "tiny.safetensors", "pixelcnn", "digits", meta)
    h = read_history(fake)
    assert path.name == "tiny.history.json" and h["note"] == "a test run" and h["weights"] == meta[HASH_KEY]
    assert [s for s, _ in h["train"]] == [2, 4, 6, 8, 10] and [s for s, _ in h["val"]] == [5, 10]
    # the run's sample grids (17 levels: one byte a value), the first 16 samples of each, by step
    assert [s for s, _ in h["samples"]] == [s for s, _ in run.sample_grids()] == [2, 4, 6, 8, 10]
    for step, x in h["samples"]:
        saved = np.load(run.samples_dir / f"step_{step:06d}.npy")
        assert saved.shape[0] == 20 and np.array_equal(x, saved[:16])
    path.write_text("{not json")
    assert read_history(fake) is None  # a damaged history is no history, never an error


def test_compare_overlays_a_bundled_models_shipped_curves(window, qtbot):
    compare = window.compare
    with qtbot.waitSignal(compare.rows_loaded, timeout=30_000):
        window.tabs.setCurrentWidget(compare)
    key = SHIPPED[0]
    row = next(r for r in range(compare.table.rowCount()) if compare.table.item(r, 0).text() == key)
    assert "training curves shipped" in compare.table.item(row, 0).toolTip()
    compare.table.selectRow(row)
    train, val = compare.curves[0]
    h = read_history(BUNDLED[key])
    assert list(train.getData()[0]) == [s for s, _ in h["train"]]
    assert list(val.getData()[1]) == pytest.approx([v for _, v in h["val"]])
    assert compare.table.item(row, 1).data(Qt.ItemDataRole.DisplayRole) == "bundled"


def test_the_train_tab_timeline_scrubs_a_bundled_models_shipped_samples(window, qtbot, tmp_path):
    import numpy as np
    import torch

    from arstudio.gui.saving import widget_rgb
    from arstudio.imaging import samples_grid
    from arstudio.spec import DataSpec

    key = next(k for k in SHIPPED if read_history(BUNDLED[k])["samples"])
    b, h = BUNDLED[key], read_history(BUNDLED[key])
    window.tabs.setCurrentWidget(window.train_tab)
    window.picker.select(b.model, b.dataset)
    view = window.train.view
    qtbot.waitUntil(lambda: view.timeline.isEnabled(), timeout=10_000)
    assert view.bundled.key == key and view.timeline.maximum() == len(h["samples"]) - 1
    assert view.timeline.value() == view.timeline.maximum() and view.shown_step == h["samples"][-1][0]
    spec = DataSpec.from_dict(b.metadata["spec"])
    drawn = []
    for index, (step, x) in enumerate(h["samples"]):  # scrub from the first step to the last
        view.timeline.setValue(index)
        assert view.shown_step == step and f"at step {step:,}" in view.timeline_label.text()
        want = samples_grid(torch.as_tensor(x, dtype=torch.long), spec)
        assert np.array_equal(view.shown_array, want)  # the grid on screen is that step's samples
        drawn.append(widget_rgb(view.image))
    assert not np.array_equal(drawn[0], drawn[-1])  # the pictures change with the step
    assert not np.array_equal(h["samples"][0][1], h["samples"][-1][1])
    # File → Save image… on the Train tab saves the shipped grid at the step shown
    view.timeline.setValue(0)
    out = tmp_path / "first.png"
    with qtbot.waitSignal(window.saver.saved, timeout=20_000):
        assert window.saver.save_image(out)
    from PIL import Image

    with Image.open(out) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), view.shown_array)
        text = dict(im.text)
    assert text["Step"] == str(h["samples"][0][0]) and text["Model"] == b.model and text["Data"] == b.dataset
    # a run opened later takes the timeline over; the bundled grids are gone from it
    window.train.view.follow(None)
    assert view.bundled is None and not view.timeline.isEnabled()
