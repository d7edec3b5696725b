"""Guided lessons: TOML files that walk the studio through a lecture, one step at a time.

A lesson is a title and a list of steps; each step names what the window shows
(a bundled model, a tab, a page inside that tab, a highlighted pixel or time
step, control values) and two to four sentences to say about it. The bundled
lessons live beside this file; a user's own lessons are read from
``$ARSTUDIO_LESSONS`` or ``~/.config/arstudio/lessons`` (``$XDG_CONFIG_HOME``
when set). The format is documented in docs/lessons.md.

This module is plain Python (no torch, no Qt) so ``arstudio lessons`` is quick;
the window checks what only it knows (tab and page titles, control names) when
it opens a lesson, with the same ``FILE:LINE: reason`` messages.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUNDLED_LESSONS = Path(__file__).resolve().parent
LESSON_KEYS = {"title": "the lesson's title", "summary": "one line for the list", "order": "its place in "
               "the lecture (lessons are listed by it)", "steps": "the steps, as [[steps]] tables"}
STEP_KEYS = {"title": "the step's heading", "text": "what to say (two to four sentences)",
             "model": "a bundled model's name", "tab": "a tab's title", "view": "a page inside the tab",
             "highlight": "a pixel [row, col] or a time step t", "set": "control name = value",
             "class": "a class-conditional model's class (a number; on Samples also \"one row per class\")"}
ALL_CLASSES = "one row per class"  # the Samples tab's class entry that draws every class


class LessonError(ValueError):
    """A lesson file that cannot be used: ``FILE:LINE: reason``."""

    def __init__(self, path, line: int | None, reason: str):
        self.path, self.line, self.reason = Path(path), line, reason
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    model: str | None = None  # a bundled model's key (file stem in models/)
    tab: str | None = None  # a tab's title ("Complete")
    view: str | None = None  # a page's title inside the tab ("Masks")
    highlight: tuple[int, ...] | None = None  # (row, col) of a pixel or (t,) of a time step
    settings: dict = field(default_factory=dict)  # objectName of a control -> value
    line: int = 1  # the line of its [[steps]] header
    lines: dict = field(default_factory=dict, compare=False)  # key -> line, for messages
    label: int | str | None = None  # `class`: a conditional model's class id, or ALL_CLASSES


@dataclass(frozen=True)
class Lesson:
    name: str  # the file's stem: what `arstudio --lesson NAME` takes
    path: Path
    title: str
    summary: str
    order: int
    steps: tuple[Step, ...]
    source: str  # "bundled" or "user"

    def error(self, step: Step, key: str | None, reason: str) -> LessonError:
        """A message about one step, at the line of ``key`` in it (its header when absent)."""
        number = self.steps.index(step) + 1
        return LessonError(self.path, step.lines.get(key, step.line), f"step {number}: {reason}")


def user_lessons_dir() -> Path:
    if os.environ.get("ARSTUDIO_LESSONS"):
        return Path(os.environ["ARSTUDIO_LESSONS"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "arstudio" / "lessons"


def bundled_model_names() -> set[str]:
    from arstudio import paths

    return {p.stem for p in Path(paths.BUNDLED_MODELS).glob("*.safetensors")}


def _step_lines(text: str) -> list[tuple[int, dict]]:
    """For each [[steps]] header: (its line, {key: line of `key =` inside the step})."""
    rows = text.splitlines()
    heads = [i for i, r in enumerate(rows) if re.match(r"\s*\[\[\s*steps\s*\]\]", r)]
    out = []
    for n, start in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(rows)
        keys: dict[str, int] = {}
        for i in range(start + 1, end):
            m = re.match(r"\s*\[\s*steps\s*\.\s*(\w+)\s*\]", rows[i]) or re.match(r"\s*([A-Za-z_][\w-]*)\s*=", rows[i])
            if m and m.group(1) not in keys:
                keys[m.group(1)] = i + 1
        out.append((start + 1, keys))
    return out


def _top_line(text: str, key: str) -> int | None:
    for i, r in enumerate(text.splitlines()):
        if re.match(r"\s*\[", r):
            return None
        if re.match(rf"\s*{re.escape(key)}\s*=", r):
            return i + 1
    return None


def _unknown(keys, allowed: dict) -> str:
    return f"unknown key {keys[0]!r} (a step takes: {', '.join(allowed)})" if allowed is STEP_KEYS else \
        f"unknown key {keys[0]!r} (a lesson takes: {', '.join(allowed)})"


def read_lesson(path, source: str = "user", models: set[str] | None = None) -> Lesson:
    """Read and check one lesson file; any problem is one LessonError naming the file and line."""
    from arstudio.untrusted import MAX_SMALL_FILE_BYTES, read_bytes

    path = Path(path)
    try:
        text = read_bytes(path, MAX_SMALL_FILE_BYTES).decode("utf-8")  # never a FIFO or device
    except (OSError, UnicodeDecodeError) as e:
        raise LessonError(path, None, f"cannot read it ({e})") from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise LessonError(path, None, "not valid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "not valid TOML"
        line = int(m.group(1)) if m else getattr(e, "lineno", None)
        raise LessonError(path, line, f"not valid TOML: {reason}") from None

    def top(key, reason):
        return LessonError(path, _top_line(text, key) or 1, reason)

    extra = [k for k in data if k not in LESSON_KEYS]
    if extra:
        raise top(extra[0], _unknown(extra, LESSON_KEYS))
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise top("title", "needs a title = \"...\" (a non-empty string) before the first [[steps]]")
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        raise top("summary", "summary must be a string")
    order = data.get("order", 1000)
    if not isinstance(order, int) or isinstance(order, bool):
        raise top("order", "order must be a whole number")
    raw = data.get("steps")
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        raise top("steps", "needs at least one step: a [[steps]] table with title and text")
    places = _step_lines(text)
    models = bundled_model_names() if models is None else models
    steps = []
    for n, s in enumerate(raw):
        line, lines = places[n] if n < len(places) else (_top_line(text, "steps") or 1, {})

        def bad(key, reason, n=n, line=line, lines=lines):
            return LessonError(path, lines.get(key, line), f"step {n + 1}: {reason}")

        extra = [k for k in s if k not in STEP_KEYS]
        if extra:
            raise bad(extra[0], _unknown(extra, STEP_KEYS))
        for key in ("title", "text"):
            if not isinstance(s.get(key), str) or not s[key].strip():
                raise bad(key, f"needs {key} = \"...\" (a non-empty string)")
        for key in ("model", "tab", "view"):
            if key in s and (not isinstance(s[key], str) or not s[key].strip()):
                raise bad(key, f"{key} must be a non-empty string")
        if "model" in s and s["model"] not in models:
            near = sorted(m for m in models if m.split("-")[0] == s["model"].split("-")[0]) or sorted(models)
            raise bad("model", f"no bundled model {s['model']!r} (bundled: {', '.join(near)})")
        if "view" in s and "tab" not in s:
            raise bad("view", "a view is a page of a tab: give the tab too")
        highlight = s.get("highlight")
        if highlight is not None:
            cells = [highlight] if isinstance(highlight, int) and not isinstance(highlight, bool) else highlight
            if not (isinstance(cells, list) and 1 <= len(cells) <= 2 and
                    all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in cells)):
                raise bad("highlight", "highlight is a pixel [row, col] or a time step t (whole numbers ≥ 0)")
            highlight = tuple(cells)
        label = s.get("class")
        if label is not None and not (isinstance(label, int) and not isinstance(label, bool) and label >= 0
                                      or label == ALL_CLASSES):
            raise bad("class", f"class is a class id (a whole number ≥ 0) or \"{ALL_CLASSES}\"")
        if label is not None and ("model" not in s or "tab" not in s):
            raise bad("class", "a class is chosen for a class-conditional model in a tab's class picker: "
                               "give the model and the tab (Samples or Complete) too")
        settings = s.get("set", {})
        if not isinstance(settings, dict) or not all(
                isinstance(v, (bool, int, float, str)) for v in settings.values()):
            raise bad("set", "[steps.set] holds control = value pairs (numbers, text, true/false)")
        steps.append(Step(" ".join(s["title"].split()), " ".join(s["text"].split()), s.get("model"),
                          s.get("tab"), s.get("view"), highlight, dict(settings), line, dict(lines), label))
    return Lesson(path.stem, path, " ".join(title.split()), " ".join(summary.split()), order, tuple(steps), source)


def lesson_files() -> list[tuple[Path, str]]:
    """(path, source) of every lesson: the bundled ones, then the user's."""
    out = [(p, "bundled") for p in sorted(BUNDLED_LESSONS.glob("*.toml"))]
    user = user_lessons_dir()
    if user.is_dir():
        out += [(p, "user") for p in sorted(user.glob("*.toml"))]
    return out


def list_lessons(errors: list | None = None) -> list[Lesson]:
    """Every lesson that reads cleanly, in lecture order; pass a list to get the LessonErrors of the rest.
    A user's lesson with a bundled one's name comes after it (`--lesson NAME` opens the user's)."""
    models = bundled_model_names()
    out = []
    for path, source in lesson_files():
        try:
            out.append(read_lesson(path, source, models))
        except LessonError as e:
            if errors is not None:
                errors.append(e)
    return sorted(out, key=lambda le: (le.order, le.source != "bundled", le.name))


def find_lesson(name_or_path) -> Lesson:
    """A lesson by file path (``x.toml``) or by name (a user's lesson before a bundled one)."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise LessonError(path, None, "no such lesson file")
        return read_lesson(path, "user")
    for folder, source in ((user_lessons_dir(), "user"), (BUNDLED_LESSONS, "bundled")):
        candidate = folder / f"{text}.toml"
        if candidate.is_file():
            return read_lesson(candidate, source)
    names = sorted({p.stem for p, _ in lesson_files()})
    raise KeyError(f"no lesson named {text!r} (lessons: {', '.join(names)}; or give a PATH.toml)")
