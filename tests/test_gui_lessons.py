"""Lessons: every step of every shipped lesson in the real window, the keys (Page Down /
Page Up, in presentation mode too), the Lessons menu, and malformed files as one
FILE:LINE message. One window serves the whole module (the bundled models are small)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arstudio.lessons import LessonError, find_lesson, list_lessons, read_lesson

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lesson_window(qapp, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lessons")
    saved = {k: os.environ.get(k) for k in ("ARSTUDIO_RUNS", "ARSTUDIO_SETTINGS", "ARSTUDIO_LESSONS")}
    os.environ.update(ARSTUDIO_RUNS=str(tmp / "runs"), ARSTUDIO_SETTINGS=str(tmp / "settings.ini"),
                      ARSTUDIO_LESSONS=str(tmp / "mine"))
    from arstudio.gui.main_window import MainWindow

    w = MainWindow()
    w.studio.close_policy = "stop"
    w.resize(1280, 720)
    w.show()
    w.samples.count.setValue(1)  # the Samples steps draw one sample each here: the grid is not what is tested
    yield w
    w.lessons.close()
    w.close()
    w.deleteLater()
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _check_step(w, qtbot, lesson, i):
    from arstudio.gui.qt_lessons import control_value, find_control, find_page

    step = lesson.steps[i]
    player = w.lessons
    qtbot.waitUntil(player.settled, timeout=180_000)
    where = f"{lesson.name} step {i + 1}"
    assert player.problem is None, f"{where}: {player.problem}"
    assert player.index == i
    assert player.panel.heading.text() == step.title and player.panel.text.text() == step.text
    assert f"step {i + 1} of {len(lesson.steps)}" in player.panel.position.text()
    if step.model:
        assert w.samples.current().key == step.model, where
        assert Path(w.state.get("checkpoint")).stem == step.model, where
    root = w
    if step.tab:
        assert w.tabs.tabText(w.tabs.currentIndex()).lower() == step.tab.lower(), where
        root = w.tabs.currentWidget()
    if step.view:
        tabs, k = find_page(root, step.view)
        assert tabs.currentIndex() == k and tabs.isTabEnabled(k), where
    for name, value in step.settings.items():
        assert control_value(find_control(root, name)) == value, f"{where}: {name}"
    if step.label is not None:  # the class picker shows the class, and what is drawn is of it
        from arstudio.lessons import ALL_CLASSES

        assert find_control(root, "class").currentText() == str(step.label), where
        if root is w.samples:
            qtbot.waitUntil(w.samples.button.isEnabled, timeout=180_000)
            run = w.samples.speed.meter.timing(w.samples.speed.path)
            assert run.key[0] == str(w.state.get("checkpoint")), where
            assert run.key[4] == (None if step.label == ALL_CLASSES else step.label), where
        else:
            assert w.complete.inspector.label == step.label, where
    if step.highlight is not None and root is w.complete:
        insp = w.complete.inspector
        assert insp.pixel == step.highlight, where
        want = {"receptive field": "receptive", "surprise": "surprise"}.get(insp.overlay_mode())
        shown = f"pixel (row {step.highlight[0]}, col {step.highlight[1]})"

        def answered():  # the inspector's answer for this pixel (not a failure) is on screen
            assert not insp.details.text().startswith("cannot inspect"), f"{where}: {insp.details.text()}"
            return insp.last is not None and (want is None or want in insp.last) and insp.title.text().startswith(shown)

        qtbot.waitUntil(answered, timeout=180_000)
    elif step.highlight is not None and root is w.inspect and len(step.highlight) == 2:
        assert w.inspect.growth.pixel == step.highlight and w.inspect.attention.pixel == step.highlight, where
    elif step.highlight is not None and root is w.inspect:
        seq = w.inspect.sequence
        assert seq.t == min(step.highlight[0], len(seq.x) - 1), where
        qtbot.waitUntil(lambda: seq.last is not None, timeout=180_000)


def test_every_step_of_every_shipped_lesson_opens_and_sets_what_it_says(lesson_window, qtbot):
    w = lesson_window
    shipped = [le for le in list_lessons() if le.source == "bundled"]
    assert len(shipped) >= 10
    for lesson in shipped:
        w.lessons.open(lesson)
        assert w.lesson_dock.isVisible() and lesson.title in w.lesson_dock.windowTitle()
        for i in range(len(lesson.steps)):
            if i:
                w.lessons.next()
            _check_step(w, qtbot, lesson, i)
        w.lessons.next()  # past the last step: stays there
        assert w.lessons.index == len(lesson.steps) - 1
    w.lessons.close()
    assert not w.lesson_dock.isVisible()


def test_page_down_and_up_walk_a_lesson_in_presentation_mode(lesson_window, qtbot):
    from PySide6.QtCore import Qt

    w = lesson_window
    lesson = find_lesson("chain-rule")
    w.lessons.open(lesson)
    w.studio.set_presentation(True)
    try:
        assert w.isFullScreen() and w.lesson_dock.isVisible()
        w.tabs.currentWidget().setFocus()
        qtbot.keyClick(w.focusWidget() or w, Qt.Key.Key_PageDown)
        assert w.lessons.index == 1
        _check_step(w, qtbot, lesson, 1)
        qtbot.keyClick(w.focusWidget() or w, Qt.Key.Key_PageDown)
        qtbot.keyClick(w.focusWidget() or w, Qt.Key.Key_PageUp)
        assert w.lessons.index == 1
        w.lessons.panel.next_button.click()
        assert w.lessons.index == 2
    finally:
        w.studio.set_presentation(False)
        w.lessons.close()


def test_lessons_menu_lists_shipped_and_user_lessons_and_opens_them(lesson_window, qtbot, tmp_path):
    w = lesson_window
    mine = Path(os.environ["ARSTUDIO_LESSONS"])
    mine.mkdir(parents=True, exist_ok=True)
    (mine / "my-blind-spot.toml").write_text(textwrap.dedent("""\
        title = "My blind spot"
        [[steps]]
        title = "Look up and right"
        model = "pixelcnn-digits"
        tab = "Complete"
        highlight = [5, 2]
        text = "The wedge is missing. That is the blind spot."
        [steps.set]
        overlay_receptive_field = true
        """))
    w.lessons_menu.aboutToShow.emit()  # what opening the menu does: lists lessons written since
    titles = [a.text() for a in w.lessons_menu.actions()]
    assert len(titles) == len(list(ROOT.glob("arstudio/lessons/*.toml"))) + 1
    assert "My blind spot  (yours)" in titles
    next(a for a in w.lessons_menu.actions() if a.text() == "My blind spot  (yours)").trigger()
    _check_step(w, qtbot, find_lesson("my-blind-spot"), 0)
    # a page or control this window lacks: one message naming file and line, the lesson is not opened
    bad = mine / "bad-view.toml"
    bad.write_text('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\ntab = "Inspect"\nview = "Nowhere"\n')
    w.lessons.close()
    assert not w.lessons.open_path(bad)
    assert w.lessons.problem.startswith(f"{bad}:6: step 1: the Inspect tab has no page 'Nowhere'")
    assert w.lessons.lesson is None and "bad-view.toml:6" in w.statusBar().currentMessage()
    bad = mine / "bad-set.toml"
    bad.write_text('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\ntab = "Complete"\n[steps.set]\n'
                   'count = 2\nmethod = "zigzag"\n')
    assert not w.lessons.open_path(bad)
    assert w.lessons.problem == (f"{bad}:8: step 1: 'method' has no entry 'zigzag' "
                                 "(entries: raster, resample, any-order, gibbs)")
    bad = mine / "bad-class-tab.toml"  # a class where there is no class picker
    bad.write_text('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\nmodel = "pixelcnn-digits"\n'
                   'tab = "Inspect"\nclass = 3\n')
    assert not w.lessons.open_path(bad)
    assert w.lessons.problem == f"{bad}:7: step 1: the Inspect tab has no class picker (Samples and Complete have one)"
    bad = mine / "bad-class.toml"  # a class the model does not have: the step says so
    bad.write_text('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\nmodel = "pixelcnn-digits"\n'
                   'tab = "Complete"\nclass = 3\n')
    assert w.lessons.open_path(bad)
    qtbot.waitUntil(w.lessons.settled, timeout=60_000)
    assert w.lessons.problem == "pixelcnn-digits has no class 3 (classes: none: not a class-conditional model)"
    w.lessons.close()


@pytest.mark.parametrize("body, line, reason", [
    ('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\nmodel = "pixelcnn-digitz"\n', 5,
     "step 1: no bundled model 'pixelcnn-digitz' (bundled: pixelcnn-digits, "),
    ('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\n[[steps]]\ntitle = "c"\ncolour = 3\ntext = "d"\n', 7,
     "step 2: unknown key 'colour' (a step takes: title, text, model, tab, view, highlight, set, class)"),
    ('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\nhighlight = [1, "2"]\n', 5,
     "step 1: highlight is a pixel [row, col] or a time step t"),
    ('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\nmodel = "pixelcnn-digits"\ntab = "Samples"\nclass = -1\n', 7, "step 1: class is a class id (a whole number ≥ 0) or \"one row per class\""),
    ('title = "x"\n[[steps]]\ntitle = "a"\ntext = "b"\nclass = 2\n', 5,
     "step 1: a class is chosen for a class-conditional model in a tab's class picker"),
    ('title = "x"\n\n[[steps]\ntitle = "a"\n', 3, "not valid TOML: "),
    ('summary = "no title"\n[[steps]]\ntitle = "a"\ntext = "b"\n', 1, "needs a title"),
    ('title = "x"\n[[steps]]\ntitle = "a"\n', 2, "step 1: needs text"),
    ('title = "x"\n', 1, "needs at least one step"),
])
def test_a_malformed_lesson_is_one_message_naming_file_and_line(tmp_path, body, line, reason):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(LessonError) as e:
        read_lesson(path)
    assert str(e.value).startswith(f"{path}:{line}: {reason}"), str(e.value)
    assert "\n" not in str(e.value)


def test_arstudio_lessons_lists_them_without_torch_and_lesson_flag_refuses_a_bad_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ARSTUDIO_LESSONS", str(tmp_path))
    (tmp_path / "broken.toml").write_text('title = "x"\n[[steps]]\ntitle = "a"\ntext = 3\n')
    env = dict(os.environ, ARSTUDIO_LESSONS=str(tmp_path), PYTHONPATH=str(ROOT))
    code = ("import sys; from arstudio.cli import main; rc = main(['lessons']); "
            "print('heavy:', [m for m in ('torch', 'PySide6') if m in sys.modules]); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60, check=False)
    assert out.returncode == 1
    names = [line.split()[0] for line in out.stdout.splitlines()[:-2]]
    assert names == [le.name for le in list_lessons()] and len(names) >= 10
    assert "heavy: []" in out.stdout
    assert out.stderr.strip() == f"arstudio lessons: {tmp_path / 'broken.toml'}:4: step 1: needs text = \"...\" " \
                                 "(a non-empty string)"
    from arstudio.cli import main

    assert main(["--lesson", str(tmp_path / "broken.toml")]) == 2
    assert main(["--lesson", "no-such-lesson"]) == 2
