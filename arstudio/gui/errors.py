"""Every failure that escapes a slot ends here: shown once in the status banner, the window
stays up.

Qt hands an exception raised inside a slot, a timer tick or an event handler to
``sys.excepthook`` and goes on with the event loop. :func:`install` replaces that hook with
one that shows the error as one line in a red banner in the status bar and prints its
traceback once to stderr; the same error again (a timer that fails every tick) only counts
up, it is never shown or printed twice.
"""
from __future__ import annotations

import sys
import traceback

from PySide6.QtWidgets import QLabel

MAX_LINE = 300


def error_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= MAX_LINE else line[:MAX_LINE - 1] + "…"


class ErrorBanner(QLabel):
    """The status bar's error line; ``seen`` counts each distinct error."""

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.seen: dict[tuple[str, str], int] = {}
        self.setStyleSheet("color: white; background: #b03030; padding: 2px 6px;")
        self.setWordWrap(False)
        self.hide()
        window.statusBar().addPermanentWidget(self, 1)

    def report(self, exc_type, exc, tb) -> bool:
        """Show ``exc`` unless this error was shown already; returns whether it was new."""
        key = (exc_type.__name__, " ".join(str(exc).split())[:200])
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] > 1:
            return False
        line = error_line(exc)
        try:
            where = traceback.extract_tb(tb)[-1]
            place = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        except (IndexError, TypeError):
            place = ""
        self.setText(f"error: {line}{place}")
        self.setToolTip("".join(traceback.format_exception(exc_type, exc, tb))[-4000:])
        self.show()
        return True


def install(window) -> ErrorBanner:
    """Route uncaught exceptions (slots, timers, event handlers) to the window's banner."""
    banner = ErrorBanner(window)
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            return previous(exc_type, exc, tb)
        try:
            if banner.report(exc_type, exc, tb):
                traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        except RuntimeError:  # the window is gone (closing): the previous hook reports it
            previous(exc_type, exc, tb)

    sys.excepthook = hook
    banner.previous_hook = previous
    window.error_banner = banner
    return banner
