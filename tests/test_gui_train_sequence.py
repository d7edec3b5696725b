"""The Train tab's sequence-aware settings, driven for real (pytest-qt, offscreen):
the training window for sequence data, label dropout for models with a "no label"
id, least squares for models with a fit method; the worker command, a real run
through the window, reopening it, and session files."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from arstudio.cli import _settings, build_parser
from arstudio.runs.worker import worker_command

TINY_WAVENET_FOR_TONES = {"num_labels": 12}  # on top of the "tiny" preset: tones has 12 pitches



def shown(train) -> dict[str, bool]:
    o = train.options
    return {"crop": o.form.isRowVisible(o.window), "label_dropout": o.form.isRowVisible(o.label_dropout),
            "closed_form": o.form.isRowVisible(o.closed_form)}


def choose(qtbot, picker, model, data, preset=None, **settings):
    picker.select(model, data, preset=preset)
    for name, value in settings.items():
        picker.form.set_value(name, value)  # the editor's own signal recounts the model
    qtbot.waitUntil(lambda: picker.training_options is not None, timeout=20_000)


def parsed_trainer_settings(cmd) -> dict:
    """The worker command read back by the real CLI parser, as the worker will read it."""
    args = build_parser().parse_args(cmd[3:])
    return {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, **_settings(args.train_set)}


def test_rows_follow_the_data_and_the_model(window, qtbot):
    picker, train = window.studio.picker, window.studio.train

    choose(qtbot, picker, "wavenet", "tones", preset="tiny", **TINY_WAVENET_FOR_TONES)
    assert shown(train) == {"crop": True, "label_dropout": True, "closed_form": False}
    # 2048-step chunks: windows of 256 by default, never longer than the sequence
    assert train.options.window.value() == 256 and train.options.window.maximum() == 2048
    assert train.options.label_dropout.value() == pytest.approx(0.1)
    assert "whole sequences" in train.options.window.toolTip()

    picker.form.set_value("num_labels", 0)  # an unconditional WaveNet has no "no label" id
    qtbot.waitUntil(lambda: not shown(train)["label_dropout"], timeout=20_000)
    assert "label_dropout" not in train.train_settings() and train.train_settings()["crop"] == 256

    choose(qtbot, picker, "pixelcnn", "digits")  # images: none of them
    assert shown(train) == {"crop": False, "label_dropout": False, "closed_form": False}
    assert not {"crop", "label_dropout", "closed_form"} & set(train.train_settings())

    choose(qtbot, picker, "rnn-arm", "text")  # 128 characters: whole sequences by default
    assert shown(train)["crop"] and train.options.window.value() == 0
    assert train.options.window.text() == "whole sequence"

    choose(qtbot, picker, "linear-ar", "tones")
    assert shown(train) == {"crop": True, "label_dropout": False, "closed_form": True}
    box = train.options.closed_form
    assert box.isChecked()  # least squares by default: the exact optimum in one solve
    assert not any(w.isEnabled() for w in (train.steps, train.batch, train.lr, train.options.window))
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)  # gradient steps instead
    assert not box.isChecked() and all(w.isEnabled() for w in (train.steps, train.batch, train.lr))
    assert train.train_settings()["closed_form"] is False


def test_worker_command_carries_the_settings(window, qtbot, tmp_path):
    picker, train = window.studio.picker, window.studio.train
    choose(qtbot, picker, "wavenet", "tones", preset="tiny", **TINY_WAVENET_FOR_TONES)
    train.options.window.setValue(64)
    train.options.label_dropout.setValue(0.25)
    train.set_train_settings({"steps": 7, "batch_size": 3})
    cmd = worker_command("wavenet", "tones", picker.selection()["settings"], train.train_settings(), tmp_path)
    got = parsed_trainer_settings(cmd)
    assert (got["steps"], got["batch_size"], got["crop"], got["label_dropout"]) == (7, 3, 64, 0.25)
    assert "closed_form" not in got

    choose(qtbot, picker, "linear-ar", "tones")
    cmd = worker_command("linear-ar", "tones", picker.selection()["settings"], train.train_settings(), tmp_path)
    got = parsed_trainer_settings(cmd)
    # a closed-form fit: no steps, batch, learning rate or window on its command line
    assert got["closed_form"] is True and got["steps"] is None and got["batch_size"] is None
    assert got["lr"] is None and "crop" not in got

    choose(qtbot, picker, "pixelcnn", "digits")
    cmd = worker_command("pixelcnn", "digits", {}, train.train_settings(), tmp_path)
    assert not {"crop", "label_dropout", "closed_form"} & set(parsed_trainer_settings(cmd))


def test_a_windowed_run_through_the_window_then_reopened(window, qtbot):
    studio = window.studio
    picker, train = studio.picker, studio.train
    choose(qtbot, picker, "wavenet", "tones", preset="tiny", **TINY_WAVENET_FOR_TONES)
    train.set_train_settings({"steps": 4, "batch_size": 4, "snapshot_every": 4, "device": "cpu"})
    train.options.window.setValue(64)
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.ended_state is not None, timeout=60_000)
    assert train.ended_state == "done", train.banner.text()
    config = json.loads((train.follower.path / "config.json").read_text())
    assert config["train"]["crop"] == 64 and config["train"]["label_dropout"] == pytest.approx(0.1)
    assert config["train"]["closed_form"] is False and config["model_config"]["num_labels"] == 12
    run = train.follower.path

    # elsewhere, then "open run": Start again would train the same recipe
    choose(qtbot, picker, "pixelcnn", "digits")
    assert studio.open_run(run)
    assert picker.model_name() == "wavenet" and picker.dataset_name() == "tones"
    qtbot.waitUntil(lambda: shown(train)["label_dropout"], timeout=20_000)
    assert train.options.window.value() == 64 and train.options.label_dropout.value() == pytest.approx(0.1)
    assert {k: train.train_settings()[k] for k in ("steps", "batch_size", "crop")} == {
        "steps": 4, "batch_size": 4, "crop": 64}


def test_a_least_squares_fit_through_the_window(window, qtbot):
    picker, train = window.studio.picker, window.studio.train
    choose(qtbot, picker, "linear-ar", "tones", preset="tiny")
    train.set_train_settings({"device": "cpu"})
    assert train.options.closed_form.isChecked()
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.ended_state is not None, timeout=60_000)
    assert train.ended_state == "done", train.banner.text()
    config = json.loads((train.follower.path / "config.json").read_text())
    assert config["train"]["closed_form"] is True
    done = [e for e in train.follower.run.events()[0] if e["event"] == "done"][0]
    assert done["step"] == 0  # one solve, no gradient steps
    assert train.view.figures["step"].text() == "closed-form fit"
    assert train.view.figures["test"].text() == f"{done['test_bpd']:.4f}"


def test_session_round_trip(window, qtbot, tmp_path):
    from arstudio.gui.main_window import MainWindow
    from arstudio.gui.session import save_session

    studio = window.studio
    choose(qtbot, studio.picker, "wavenet", "tones", preset="tiny", **TINY_WAVENET_FOR_TONES)
    studio.train.options.window.setValue(128)
    studio.train.options.label_dropout.setValue(0.3)
    wavenet_session = save_session(studio, tmp_path / "wavenet.toml")
    assert "crop = 128" in wavenet_session.read_text()
    choose(qtbot, studio.picker, "linear-ar", "tones")
    qtbot.mouseClick(studio.train.options.closed_form, Qt.MouseButton.LeftButton)  # gradient steps
    linear_session = save_session(studio, tmp_path / "linear.toml")

    other = MainWindow()
    qtbot.addWidget(other)
    other.studio.close_policy = "stop"
    picker, train = other.studio.picker, other.studio.train
    assert other.studio.load_session(wavenet_session)
    qtbot.waitUntil(lambda: shown(train)["label_dropout"], timeout=20_000)
    assert train.train_settings()["crop"] == 128 and train.train_settings()["label_dropout"] == pytest.approx(0.3)
    assert other.studio.load_session(linear_session)
    assert picker.model_name() == "linear-ar" and train.train_settings()["closed_form"] is False
    assert train.steps.isEnabled()


def test_a_bundled_models_recipe_fills_the_tab(window, qtbot):
    from arstudio.presets import PRESETS

    picker, train = window.studio.picker, window.studio.train
    choose(qtbot, picker, "pixelcnn", "digits")
    choose(qtbot, picker, "wavenet", "tones")
    recipe = train.options.recipe
    assert train.options.form.isRowVisible(recipe)
    names = [recipe.itemText(i) for i in range(1, recipe.count())]
    assert names == [n for n, p in PRESETS.items() if (p.model, p.dataset) == ("wavenet", "tones")]
    expected = PRESETS["wavenet-tones"]
    recipe.setCurrentText("wavenet-tones")
    recipe.activated.emit(recipe.currentIndex())  # as a click on the item does
    qtbot.waitUntil(lambda: shown(train)["label_dropout"], timeout=20_000)
    values = picker.form.values()
    assert all(values[k] == v for k, v in expected.model_config.items())
    got = train.train_settings()
    assert {k: got[k] for k in ("steps", "batch_size", "lr", "crop")} == {
        k: expected.train[k] for k in ("steps", "batch_size", "lr", "crop")}
    assert got["label_dropout"] == pytest.approx(expected.train["label_dropout"])
    assert recipe.currentText() == "wavenet-tones"
    picker.form.set_value("stacks", 1)  # changed by hand: no longer the recipe
    assert recipe.currentIndex() == 0

    choose(qtbot, picker, "pixelcnn", "shapes")  # no recipe for this pair: no row
    assert not train.options.form.isRowVisible(recipe)
