"""Open the studio: check the system first, then start Qt."""
from __future__ import annotations

import os
import sys


def launch(argv=None, session=None, lesson=None) -> int:
    from arstudio.syscheck import check_audio, check_gui

    if not os.environ.get("ARSTUDIO_NO_SYSCHECK"):
        problems = check_gui()
        if problems:
            print("ARStudio cannot open its window:", file=sys.stderr)
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
            return 1
        audio = check_audio()
        if audio:
            print(f"note: {audio}", file=sys.stderr)

    from arstudio.gui.binding_check import binding_problem

    leak = None if os.environ.get("ARSTUDIO_IGNORE_BINDING_LEAK") else binding_problem()
    if leak:
        print(f"ARStudio will not open its window: {leak}", file=sys.stderr)
        return 1

    from PySide6.QtWidgets import QApplication

    from arstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("ARStudio")
    app.setOrganizationName("ARStudio")
    window = MainWindow()
    from arstudio.gui.errors import install

    install(window)  # a failure in any slot: one line in the status banner, the window stays up
    window.show()
    if session:
        window.studio.load_session(session)  # a bad file is a message in the window, not an abort
    if lesson is not None:  # an arstudio.lessons.Lesson, read by the CLI
        try:
            window.lessons.open(lesson)
        except ValueError as e:  # a tab, page or control this window lacks: a message, not an abort
            window.show_message(f"lesson not opened: {e}")
    return app.exec()
