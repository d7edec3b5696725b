"""Where the studio keeps what it remembers (window geometry, last state, recent runs, the
user's datasets): one function, shared by the window and the modules below it."""
from __future__ import annotations

import os

from PySide6.QtCore import QSettings


def studio_settings() -> QSettings:
    """QSettings in the user's config, or an INI file named by ARSTUDIO_SETTINGS (tests, kiosks)."""
    path = os.environ.get("ARSTUDIO_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("ARStudio", "ARStudio")
