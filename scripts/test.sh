#!/usr/bin/env bash
# Install everything (first run) and run the whole test suite, offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA_SYSTEM_PACKAGES="pulseaudio pulseaudio-utils xvfb xauth" ARSTUDIO_EXTRAS="[dev,tensorboard]" bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
