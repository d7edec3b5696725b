"""The layers of ARStudio, enforced on the source (ast; every import, also the ones
inside functions): imports only point downward.

    entry     arstudio.cli, arstudio.__main__, arstudio.bench   (opens the window, runs benches)
    gui       arstudio.gui                                     (PySide6 + pyqtgraph)
    bundled   arstudio.bundled                                 (the shipped models: evaluate, cards)
    runs      arstudio.runs, arstudio.recipes                  (run folders, the worker, naming, recipes)
    inspect   arstudio.inspect, arstudio.codec                 (probes, scores, entropy coding)
    sampling  arstudio.sampling                                (completion, audio streaming)
    training  arstudio.training                                (the trainer, its events and options)
    checkpoint arstudio.checkpoint, arstudio.imaging, arstudio.exports  (weights on disk, grids, files to take home)
    models    arstudio.models                                  (the protocol, one file per family)
    nn        arstudio.nn                                      (masked / causal layers)
    data      arstudio.data                                    (the dataset registry and loaders)
    distributions arstudio.distributions                       (output distributions, mu-law)
    base      arstudio, spec, paths, devices, discovery, presets, values, atomic, untrusted, config_check,
              syscheck, audio                                  (small shared modules)

A module may import its own layer or any layer below. Besides: only arstudio.gui
imports Qt (PySide6, shiboken6, pyqtgraph); only arstudio.audio imports sounddevice;
the GUI never imports arstudio.cli. Inside the GUI: the window (main_window, launch,
latency_bench) > studio.py and the tabs (``*_tab.py``) > the panels (``qt_*.py``) >
shared GUI modules (the rest); no panel imports another panel, no tab another tab.

audio.py sits with the base modules: it imports nothing of ARStudio (sounddevice
only inside its play/record functions), and the data layer's audio-file loader
reads files with its ``load_audio``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import arstudio

LAYERS: list[tuple[str, tuple[str, ...]]] = [  # top to bottom
    ("entry", ("arstudio.cli", "arstudio.__main__", "arstudio.bench")),
    ("gui", ("arstudio.gui",)),
    ("bundled", ("arstudio.bundled",)),
    ("runs", ("arstudio.runs", "arstudio.recipes")),
    ("inspect", ("arstudio.inspect", "arstudio.codec")),
    ("sampling", ("arstudio.sampling",)),
    ("training", ("arstudio.training", "arstudio.train_config")),
    ("checkpoint", ("arstudio.checkpoint", "arstudio.imaging", "arstudio.exports")),
    ("models", ("arstudio.models",)),
    ("nn", ("arstudio.nn",)),
    ("data", ("arstudio.data",)),
    ("distributions", ("arstudio.distributions",)),
    ("base", ("arstudio", "arstudio.spec", "arstudio.paths", "arstudio.devices", "arstudio.discovery",
              "arstudio.presets", "arstudio.values", "arstudio.atomic", "arstudio.untrusted", "arstudio.config_check",
              "arstudio.syscheck",
              "arstudio.audio", "arstudio.lessons")),
]
GUI_WINDOW = {"arstudio.gui.main_window", "arstudio.gui.launch", "arstudio.gui.latency_bench"}
QT = ("PySide6", "shiboken6", "pyqtgraph")


def read_sources(root: Path | None = None) -> dict[str, str]:
    """{module name: source} for every .py file of the package."""
    root = Path(root or Path(arstudio.__file__).parent)
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = ("arstudio",) + path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path.read_text(encoding="utf-8")
    return out


def imports_of(module: str, source: str, modules: set[str], is_package: bool) -> set[str]:
    """Every module ``source`` imports (absolute and relative, at any depth in the file);
    ``from pkg import name`` counts as ``pkg.name`` when that is a module."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.add(sub if sub in modules else target)
    return found


def layer_of(module: str) -> int | None:
    best, index = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            inside = module == p or (p != "arstudio" and module.startswith(p + "."))  # the package root alone
            if inside and len(p) > best:
                best, index = len(p), i
    return index


def gui_tier(module: str) -> tuple[int, str]:
    """(rank, kind) inside arstudio.gui: higher ranks may import lower ones."""
    name = module.rsplit(".", 1)[-1]
    if module in GUI_WINDOW:
        return 3, "window"
    if name == "studio" or name.endswith("_tab"):
        return 2, "tab"
    if name.startswith("qt_"):
        return 1, "panel"
    return 0, "shared"


def violations(sources: dict[str, str]) -> list[str]:
    modules = set(sources)
    packages = {m for m in modules if any(o.startswith(m + ".") for o in modules)}
    out = []
    for module, source in sorted(sources.items()):
        mine = layer_of(module)
        if mine is None:
            out.append(f"{module}: in no layer; add it to LAYERS in tests/test_layers.py")
            continue
        in_gui = module == "arstudio.gui" or module.startswith("arstudio.gui.")
        for target in sorted(imports_of(module, source, modules, module in packages)):
            top = target.split(".")[0]
            if top in QT and not in_gui:
                out.append(f"{module} imports {target}: only arstudio.gui imports Qt")
            if top == "sounddevice" and module != "arstudio.audio":
                out.append(f"{module} imports sounddevice: only arstudio.audio does")
            if top != "arstudio":
                continue
            theirs = layer_of(target)
            if in_gui and (target == "arstudio.cli" or target.startswith("arstudio.cli.")):
                out.append(f"{module} imports {target}: the GUI never imports the CLI")
            elif theirs is not None and theirs < mine:
                out.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]}): upward")
            elif in_gui and target.startswith("arstudio.gui.") and target != module:
                (rank, kind), (rank2, kind2) = gui_tier(module), gui_tier(target)
                if rank2 > rank:
                    out.append(f"{module} ({kind}) imports {target} ({kind2}): upward inside the GUI")
                elif rank == rank2 and kind in ("panel", "tab"):
                    out.append(f"{module} imports {target}: a {kind} never imports another {kind}")
    return out


def test_the_code_obeys_the_layers():
    sources = read_sources()
    assert len(sources) > 80 and "arstudio.gui.main_window" in sources and "arstudio.models.base" in sources
    assert violations(sources) == []


def test_planted_violations_are_found():
    sources = read_sources()
    planted = dict(sources)
    planted["arstudio.models.pixelcnn"] += "\ndef f():\n    from arstudio.runs import RunFolder\n"
    planted["arstudio.spec"] += "\nimport PySide6.QtCore\n"
    planted["arstudio.data.images"] += "\nimport pyqtgraph as pg\n"
    planted["arstudio.training.trainer"] += "\nimport sounddevice\n"
    planted["arstudio.gui.qt_samples"] += "\nfrom arstudio.gui.qt_train import TrainPanel\n"
    planted["arstudio.gui.qt_picker"] += "\nfrom arstudio.cli import build_parser\n"
    planted["arstudio.gui.workers"] += "\nfrom arstudio.gui import qt_listen\n"
    planted["arstudio.gui.inspect_tab"] += "\nfrom .complete_tab import CompletePanel\n"
    planted["arstudio.nn.masked_linear"] += "\nfrom ..models import base\n"
    planted["arstudio.brand_new"] = "import arstudio\n"
    already = set(violations(sources))  # reported by the test above, not planted here
    found = [v for v in violations(planted) if v not in already]
    assert found == [
        "arstudio.brand_new: in no layer; add it to LAYERS in tests/test_layers.py",
        "arstudio.data.images imports pyqtgraph: only arstudio.gui imports Qt",
        "arstudio.gui.inspect_tab imports arstudio.gui.complete_tab: a tab never imports another tab",
        "arstudio.gui.qt_picker imports arstudio.cli: the GUI never imports the CLI",
        "arstudio.gui.qt_samples imports arstudio.gui.qt_train: a panel never imports another panel",
        "arstudio.gui.workers (shared) imports arstudio.gui.qt_listen (panel): upward inside the GUI",
        "arstudio.models.pixelcnn (models) imports arstudio.runs (runs): upward",
        "arstudio.nn.masked_linear (nn) imports arstudio.models.base (models): upward",
        "arstudio.spec imports PySide6.QtCore: only arstudio.gui imports Qt",
        "arstudio.training.trainer imports sounddevice: only arstudio.audio does",
    ]


def test_docs_list_the_same_layers_in_the_same_order():
    """docs/layout.md's table is this file's LAYERS: the same layers, top to bottom, each
    naming its modules."""
    doc = (Path(__file__).parent.parent / "docs" / "layout.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:3] for line in doc.splitlines() if line.startswith("| ") and "`" in line]
    named = [(name.strip(), cells) for name, cells in rows]
    assert [n for n, _ in named][:len(LAYERS)] == [name for name, _ in LAYERS]
    for (name, prefixes), (_, cells) in zip(LAYERS, named):
        for p in prefixes:
            short = p.removeprefix("arstudio.").replace(".", "/")
            shown = "__init__.py" if p == "arstudio" else short
            assert f"`{shown}" in cells, (name, p)
