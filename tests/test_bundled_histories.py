"""Bundled models ship their training curves (models/KEY.history.json), so the Compare tab
overlays them with no training: the files are valid, belong to bundled models, round-trip
from a real run, and the real window's Compare tab draws them."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from arstudio.bundled import HISTORY_SUFFIX, list_bundled, read_history, write_history
from arstudio.paths import BUNDLED_MODELS

BUNDLED = {b.key: b for b in list_bundled()}
SHIPPED = sorted(p.name[: -len(HISTORY_SUFFIX)] for p in BUNDLED_MODELS.glob(f"*{HISTORY_SUFFIX}"))


def test_shipped_histories_are_valid_small_and_match_their_models():
    assert SHIPPED, "no bundled model ships a history"
    for key in SHIPPED:
        assert key in BUNDLED, f"{key}{HISTORY_SUFFIX} belongs to no bundled model"
        b = BUNDLED[key]
        h = read_history(b)
        assert h is not None and len(h["train"]) >= 10 and len(h["val"]) >= 2, key
        assert (BUNDLED_MODELS / f"{key}{HISTORY_SUFFIX}").stat().st_size < 16_000
        steps = [s for s, _ in h["train"]]
        assert steps == sorted(steps) and steps[0] > 0
        raw = json.loads((BUNDLED_MODELS / f"{key}{HISTORY_SUFFIX}").read_text())
        assert raw["model"] == b.model and raw["dataset"] == b.dataset
        # the curves end where the bundled model is: its test figure, to the tolerance the script checks
        assert raw["test_bpd"] == pytest.approx(b.metadata["metrics"]["test_bpd"], abs=0.002)


def test_write_history_round_trips_a_real_run(tmp_path):
    from arstudio.bundled import BundledModel
    from arstudio.runs import run_training
    from arstudio.training import TrainConfig

    run = run_training("pixelcnn", "digits", tmp_path / "run", {"channels": 8, "blocks": 1, "head_channels": 8},
                       TrainConfig(steps=10, batch_size=16, eval_every=5, log_every=2, sample_every=0,
                                   checkpoint_every=10, device="cpu"))
    path = write_history(run.path, "tiny", tmp_path, note="a test run")
    fake = BundledModel("tiny", tmp_path / "tiny.safetensors", "pixelcnn", "digits", {})
    h = read_history(fake)
    assert path.name == "tiny.history.json" and h["note"] == "a test run"
    assert [s for s, _ in h["train"]] == [2, 4, 6, 8, 10] and [s for s, _ in h["val"]] == [5, 10]
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
