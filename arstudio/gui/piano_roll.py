"""A small piano roll for melody models: click or drag notes on a pitch × time grid.

Rows are the melody notes (C4 at the bottom, C5 at the top), columns half-beats
(16 score frames, 0.128 s). One note sounds at a time, as in the melodies data:
a click puts a half-beat note in that column, a drag along a row draws one held
note over the columns it crosses (replacing what was there), a click on a note
(or a right-click anywhere on it) erases it. The roll writes and reads the same
score text the score box holds (``NOTE[:BEATS]``, ``-`` a rest; see
arstudio/data/melodies.py), so either one edits the melody.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from arstudio.data import melodies

CELL_FRAMES = melodies.BEAT // 2  # a column is half a beat
COLUMNS = 32  # 4.1 s of score
NAME_W = 30  # the note names' margin, pixels


class PianoRoll(QWidget):
    changed = Signal(str)  # the melody was edited here: its score text

    def __init__(self, parent=None, columns: int = COLUMNS):
        super().__init__(parent)
        self.columns = columns
        self.rows = len(melodies.NOTE_NAMES)
        self.notes: list[tuple[int, int, int]] = []  # (first column, columns, scale index)
        self._drag: tuple[int, int] | None = None  # (anchor column, scale index) of the note drawn
        self._erase: tuple[int, int] | None = None  # the note a press landed on, erased on release
        self.setMinimumSize(NAME_W + 8 * columns, 12 * self.rows)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("click a cell for a half-beat note, drag along a row for a longer one, "
                        "click a note (or right-click) to erase it; the score box follows")

    def sizeHint(self) -> QSize:
        return QSize(NAME_W + 20 * self.columns, 16 * self.rows)

    # --- geometry ------------------------------------------------------------------
    def _cell_w(self) -> float:
        return (self.width() - NAME_W) / self.columns

    def _cell_h(self) -> float:
        return self.height() / self.rows

    def cell_rect(self, column: int, note: int) -> QRect:
        """The rectangle of a cell (``note`` a scale index, 0 = C4 at the bottom)."""
        w, h = self._cell_w(), self._cell_h()
        row = self.rows - 1 - note
        return QRect(round(NAME_W + column * w), round(row * h), max(1, round(w)), max(1, round(h)))

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """(column, scale index) under a point, or None in the margin / outside."""
        if pos.x() < NAME_W or pos.x() >= self.width() or not 0 <= pos.y() < self.height():
            return None
        column = min(self.columns - 1, int((pos.x() - NAME_W) / self._cell_w()))
        row = min(self.rows - 1, int(pos.y() / self._cell_h()))
        return column, self.rows - 1 - row

    # --- the melody ------------------------------------------------------------------
    def note_at(self, column: int) -> tuple[int, int, int] | None:
        return next((n for n in self.notes if n[0] <= column < n[0] + n[1]), None)

    def _place(self, start: int, length: int, note: int):
        """Put a note over columns start..start+length-1, cutting what overlaps it."""
        end = start + length
        kept = []
        for s, n, p in self.notes:
            if s + n <= start or s >= end:
                kept.append((s, n, p))
                continue
            if s < start:
                kept.append((s, start - s, p))
            if s + n > end:
                kept.append((end, s + n - end, p))
        kept.append((start, length, note))
        self.notes = sorted(kept)

    def score(self) -> str:
        """The melody as score text: rests fill the gaps, trailing silence is left out."""
        tokens, at = [], 0
        beats = lambda cols: "" if cols == 2 else f":{cols / 2:g}"
        for s, n, p in sorted(self.notes):
            if s > at:
                tokens.append("-" + beats(s - at))
            tokens.append(melodies.NOTE_NAMES[p] + beats(n))
            at = s + n
        return " ".join(tokens)

    def set_score(self, score) -> None:
        """Show a score (text or note list), each note rounded to whole columns; what
        lies past the last column is cut. Emits nothing."""
        notes = melodies.parse_score(score) if isinstance(score, str) else list(score)
        placed, frame = [], 0
        for idx, frames in notes:
            start, end = round(frame / CELL_FRAMES), round((frame + frames) / CELL_FRAMES)
            frame += frames
            if idx is not None and end > start and start < self.columns:
                placed.append((start, min(end, self.columns) - start, idx))
        self.notes = placed
        self.update()

    def clear(self) -> None:
        self.notes = []
        self.update()
        self.changed.emit(self.score())

    # --- mouse -------------------------------------------------------------------------
    def mousePressEvent(self, event):
        cell = self.cell_at(event.position().toPoint())
        if cell is None:
            return
        column, note = cell
        under = self.note_at(column)
        if event.button() == Qt.MouseButton.RightButton:
            if under is not None:
                self.notes.remove(under)
                self.update()
                self.changed.emit(self.score())
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if under is not None and under[2] == note:
            self._erase = under  # a click on a note erases it (unless the press becomes a drag)
            self._drag = (column, note)
            return
        self._erase = None
        self._drag = (column, note)
        self._place(column, 1, note)
        self.update()

    def mouseMoveEvent(self, event):
        if self._drag is None:
            return
        cell = self.cell_at(event.position().toPoint())
        if cell is None:
            return
        anchor, note = self._drag
        column = cell[0]
        if self._erase is not None:
            if column == anchor:
                return
            self._erase = None  # dragging from a note redraws it
        lo, hi = min(anchor, column), max(anchor, column)
        self._place(lo, hi - lo + 1, note)
        self.update()

    def mouseReleaseEvent(self, event):
        if self._drag is None:
            return
        if self._erase is not None and self._erase in self.notes:
            self.notes.remove(self._erase)
            self.update()
        self._drag = self._erase = None
        self.changed.emit(self.score())

    # --- drawing ------------------------------------------------------------------------
    def paintEvent(self, event):
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1e1e24"))
        h = self._cell_h()
        for note in range(self.rows):
            r = self.cell_rect(0, note)
            if melodies.NOTE_NAMES[note][0] == "C":
                p.fillRect(QRect(NAME_W, r.top(), self.width() - NAME_W, r.height()), QColor("#26262e"))
            p.setPen(QColor("#c8c8c8"))
            p.drawText(QRect(0, r.top(), NAME_W - 4, round(h)),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, melodies.NOTE_NAMES[note])
        for column in range(self.columns + 1):
            x = round(NAME_W + column * self._cell_w())
            p.setPen(QPen(QColor("#55555f" if column % 2 == 0 else "#34343c"), 1))
            p.drawLine(x, 0, x, self.height())
        for s, n, note in self.notes:
            a, b = self.cell_rect(s, note), self.cell_rect(s + n - 1, note)
            p.fillRect(a.united(b).adjusted(1, 1, -1, -1), QColor("#4aa3ff"))
        p.end()
