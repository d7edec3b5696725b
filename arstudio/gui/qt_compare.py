"""Compare tab: every run and bundled model in one sortable table, and the
curves of two selected runs overlaid. Runs are read in a pool thread."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.workers import run_job
from arstudio.runs.follow import format_seconds, summarize

COLUMNS = ("Name", "Kind", "Model", "Data", "Test bits/dim", "Parameters", "Training time", "Device", "State")
OVERLAY_COLOURS = ("#1f77b4", "#d62728")


def read_rows(run_paths: list[str]) -> list[dict]:
    """Pool thread: a summary per run folder and per bundled model (plain data only)."""
    from arstudio.bundled import list_bundled, read_history
    from arstudio.runs import RunError
    from arstudio.runs.follow import Curves

    rows = []
    for p in run_paths:
        try:
            rows.append({"kind": "run", **summarize(p)})
        except (RunError, OSError, ValueError):
            continue  # a folder that is not a run is simply not listed
    for b in list_bundled():
        m = b.metadata.get("metrics", {})
        h = read_history(b)  # the curves it shipped with (models/KEY.history.json), if any
        curves = None if h is None else Curves([s for s, _ in h["train"]], [v for _, v in h["train"]],
                                               [s for s, _ in h["val"]], [v for _, v in h["val"]])
        rows.append({"kind": "bundled", "name": b.key, "path": str(b.path), "model": b.model,
                     "dataset": b.dataset, "test_bpd": m.get("test_bpd"), "parameters": b.metadata.get("parameters"),
                     "time_s": b.metadata.get("train_seconds"), "device": b.metadata.get("device", "–"),
                     "state": "bundled", "curves": curves, "history": h and h["note"]})
    return rows


class SortItem(QTableWidgetItem):
    """Sorts by a number when it has one; blanks go last."""

    def __init__(self, text: str, key=None):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):
        a, b = self.key, getattr(other, "key", None)
        if isinstance(a, (int, float)) or isinstance(b, (int, float)):
            return (a is None, a if a is not None else 0) < (b is None, b if b is not None else 0)
        return self.text() < other.text()


class ComparePanel(QWidget):
    rows_loaded = Signal()
    open_requested = Signal(str)  # a run double-clicked: the window opens it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.extra_runs: list[str] = []  # opened or started here, wherever they live
        self.rows: list[dict] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self.overlay_selected)
        self.table.doubleClicked.connect(self._open_row)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.hint = QLabel("Select two runs to overlay their curves; double-click a run to open it.")

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "bits / dim")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.addLegend(offset=(-10, 10))
        self.curves = []
        for colour in OVERLAY_COLOURS:  # created once; selection changes only their data
            train = self.plot.plot([], [], pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine))
            val = self.plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                                 symbolBrush=colour)
            self.curves.append((train, val))

        top = QHBoxLayout()
        top.addWidget(self.hint, 1)
        top.addWidget(self.refresh_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._shown = False  # the table is read when the tab is first shown, not at start-up

    def showEvent(self, event):
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self.refresh()

    def run_paths(self) -> list[str]:
        from arstudio.runs.worker import runs_root

        root = runs_root()
        found = [str(p) for p in sorted(root.iterdir()) if (p / "config.json").is_file()] if root.is_dir() else []
        return found + [p for p in self.extra_runs if p not in found]

    def add_run(self, path) -> None:
        if str(path) not in self.extra_runs:
            self.extra_runs.append(str(Path(path)))
        if self._shown:
            self.refresh()

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        run_job(read_rows, self.run_paths(), on_done=self._show_rows, on_error=self._failed, owner=self)

    def _failed(self, text: str):
        self.refresh_button.setEnabled(True)
        self.hint.setText(f"could not read the runs: {text}")

    def _show_rows(self, rows: list[dict]) -> None:
        self.refresh_button.setEnabled(True)
        self.rows = rows
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            bpd, params, secs = row["test_bpd"], row["parameters"], row["time_s"]
            cells = [SortItem(row["name"]), SortItem(row["kind"]), SortItem(row["model"]),
                     SortItem(row["dataset"]),
                     SortItem(f"{bpd:.4f}" if bpd is not None else "–", bpd),
                     SortItem(f"{params:,}" if params else "–", params),
                     SortItem(format_seconds(secs) if secs else "–", secs),
                     SortItem(str(row["device"])), SortItem(row["state"])]
            cells[0].setData(Qt.ItemDataRole.UserRole, r)
            if row.get("history"):  # a bundled model with its shipped curves: select it to overlay them
                cells[0].setToolTip(f"training curves shipped: {row['history']}")
            for c, item in enumerate(cells):
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.rows_loaded.emit()

    def selected_rows(self) -> list[dict]:
        picked = sorted({i.row() for i in self.table.selectedItems()})
        return [self.rows[self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)] for r in picked]

    def overlay_selected(self) -> None:
        runs = [row for row in self.selected_rows() if row["curves"] is not None][:2]
        self.plot.plotItem.legend.clear()
        for i, (train, val) in enumerate(self.curves):
            if i < len(runs):
                c = runs[i]["curves"]
                train.setData(c.train_steps, c.train_bpd)
                val.setData(c.val_steps, c.val_bpd)
                self.plot.plotItem.legend.addItem(val, f"{runs[i]['name']} (validation)")
            else:
                train.setData([], [])
                val.setData([], [])

    def _open_row(self, index) -> None:
        row = self.rows[self.table.item(index.row(), 0).data(Qt.ItemDataRole.UserRole)]
        if row["kind"] == "run":
            self.open_requested.emit(row["path"])
