#!/usr/bin/env bash
# Shared set-up for scripts/studio.sh and scripts/test.sh: system libraries
# (Debian/Ubuntu), a virtual environment in .venv, PyTorch and ARStudio.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt (xcb + EGL/GL), PortAudio, and for the tests a PulseAudio null sink and Xvfb.
SYSTEM_PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libegl1 libgl1 libfontconfig1 \
libdbus-1-3 libportaudio2 ${EXTRA_SYSTEM_PACKAGES:-}"

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $SYSTEM_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "please install: ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The CPU build of PyTorch by default (quick to install); set ARSTUDIO_TORCH to choose another.
.venv/bin/python -m pip install -q --disable-pip-version-check "${ARSTUDIO_TORCH:-torch==2.13.0}"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${ARSTUDIO_EXTRAS:-}"
