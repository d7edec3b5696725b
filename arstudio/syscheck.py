"""Start-up checks for the system libraries Qt and PortAudio need on Linux.

Without them Qt aborts with "could not load the Qt platform plugin xcb" and
sounddevice raises on import; the studio checks first and prints the exact
``apt-get install`` line instead. Core module: no Qt import here.
"""
from __future__ import annotations

import ctypes.util
import os
import sys

# soname stem -> Debian/Ubuntu package that provides it
QT_XCB_LIBS = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "xcb-shape": "libxcb-shape0",
    "xcb-randr": "libxcb-randr0",
}
QT_GL_LIBS = {"EGL": "libegl1", "GL": "libgl1", "fontconfig": "libfontconfig1", "xkbcommon": "libxkbcommon0"}
AUDIO_LIBS = {"portaudio": "libportaudio2"}


def missing(libs: dict[str, str]) -> list[str]:
    return [pkg for name, pkg in libs.items() if ctypes.util.find_library(name) is None]


def check_gui() -> list[str]:
    """Problems that would stop the window from opening, each with its fix."""
    if not sys.platform.startswith("linux"):
        return []
    problems = []
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    needed = dict(QT_GL_LIBS)
    if platform in ("", "xcb"):
        needed.update(QT_XCB_LIBS)
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            problems.append("no display found (DISPLAY is not set): run from a desktop session, "
                            "or start a virtual one with `xvfb-run arstudio`")
    pkgs = missing(needed)
    if pkgs:
        problems.append("Qt needs system libraries that are missing: "
                        f"sudo apt-get install {' '.join(pkgs)}")
    return problems


def check_audio() -> str | None:
    """None when sound can work; else what to install (saving WAVs works regardless)."""
    if sys.platform.startswith("linux") and missing(AUDIO_LIBS):
        return "sound playback needs PortAudio: sudo apt-get install libportaudio2"
    return None
